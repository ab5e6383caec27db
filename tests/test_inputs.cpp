// The tool's inputs beyond one corpus file: several files, a folder and standard input as
// `train --corpus`, joined as the library's read_corpus joins them, resumed from the stored list,
// and never overwritten by an output.
#include <catch2/catch.hpp>
#include <charlstm/charlstm.hpp>
#include <string>
#include <vector>

#include "support/run.hpp"

using test_support::quote;
using test_support::run_cli;
using test_support::temp_dir;
using test_support::write_text;

namespace {

// A small run: a few steps on a tiny model, no samples.
const std::string tiny =
    " --hidden 8 --batch 4 --seq-len 20 --maxlen 20 --sample-length 0 --threads 1 --epochs 1";

// `charlstm ARGS` with `input` before it in the shell ("cat f |") or after it ("< f").
test_support::run_result run_with_input(const std::string& before, const std::string& args,
                                        const std::string& after) {
  const temp_dir dir;
  const std::string command = before + " " + CHARLSTM_CLI + " " + args + " " + after + " >" +
                              quote(dir / "out") + " 2>" + quote(dir / "err");
  const int status = std::system(command.c_str());
  test_support::run_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = charlstm::read_file_bytes(dir / "out");
  r.err = charlstm::read_file_bytes(dir / "err");
  return r;
}

// The checkpoint's vocabulary and metadata.
charlstm::checkpoint_info info_of(const std::string& path) {
  charlstm::checkpoint_info info;
  charlstm::load_checkpoint<float>(path, info);
  return info;
}

// The symbols train's vocabulary of `text` has, lowercased as train reads by default.
std::vector<char32_t> symbols_of(const std::string& text) {
  return charlstm::char_vocabulary(charlstm::lowercase(charlstm::decode_utf8(text))).symbols;
}

}  // namespace

TEST_CASE("train reads several files and a folder, joined by a blank line, and resumes", "[cli]") {
  temp_dir dir;
  const std::string a = test_support::small_corpus(1500), b = "Xylophones in a jazz quartet!\n";
  write_text(dir / "a.txt", a);
  write_text(dir / "b.txt", b + b + b);
  const auto two = run_cli("train --corpus " + quote(dir / "a.txt") + " " + quote(dir / "b.txt") +
                           tiny + " --out " + quote(dir / "two.safetensors"));
  INFO(two.out << two.err);
  REQUIRE(two.exit_code == 0);
  const std::string joined = a + "\n\n" + b + b + b;
  CHECK_THAT(two.out + two.err,
             Catch::Contains("(2 files): " + std::to_string(joined.size()) + " characters"));
  charlstm::checkpoint_info info = info_of(dir / "two.safetensors");
  CHECK(info.vocab.as_chars().symbols == symbols_of(joined));
  CHECK(info.metadata.at("corpus_list") == "[" + charlstm::json_quote(dir / "a.txt") + "," +
                                               charlstm::json_quote(dir / "b.txt") + "]");
  // Resumed without --corpus, the run reads the stored list again.
  const auto resumed =
      run_cli("train --resume " + quote(dir / "two.safetensors") + " --epochs 2 --threads 1");
  INFO(resumed.out << resumed.err);
  CHECK(resumed.exit_code == 0);
  CHECK(info_of(dir / "two.safetensors").metadata.at("epoch") == "2");

  // A folder: its files in byte-wise name order, not the hidden one nor the subfolder's.
  ::mkdir((dir / "texts").c_str(), 0755);
  ::mkdir((dir / "texts/sub").c_str(), 0755);
  write_text(dir / "texts/2nd.txt", b);
  write_text(dir / "texts/1st.txt", a);
  write_text(dir / "texts/.draft.txt", "#####\n");
  write_text(dir / "texts/sub/more.txt", "@@@@@\n");
  const auto folder = run_cli("train --corpus " + quote(dir / "texts") + tiny + " --out " +
                              quote(dir / "folder.safetensors"));
  INFO(folder.out << folder.err);
  REQUIRE(folder.exit_code == 0);
  CHECK(info_of(dir / "folder.safetensors").vocab.as_chars().symbols == symbols_of(a + "\n\n" + b));
  CHECK_THAT(folder.out + folder.err,
             Catch::Contains(" (2 files): " + std::to_string(a.size() + 2 + b.size())));

  // A binary file in the folder is refused, naming it.
  write_text(dir / "texts/3rd.bin", std::string("\177ELF\002\001\000\000", 8));
  const auto binary = run_cli("train --corpus " + quote(dir / "texts") + tiny + " --out " +
                              quote(dir / "binary.safetensors"));
  CHECK(binary.exit_code == 1);
  CHECK_THAT(binary.err, Catch::Contains(dir / "texts/3rd.bin" + ": NUL byte at byte offset 6") &&
                             Catch::Contains("not a text file"));
}

TEST_CASE("train reads standard input given as -, redirected from a file or piped", "[cli]") {
  temp_dir dir;
  const std::string text = test_support::small_corpus(1500) + "Quiz: jumbled vexing words?\n";
  write_text(dir / "in.txt", text);
  for (const bool pipe : {false, true}) {
    const std::string out = dir / (pipe ? "piped.safetensors" : "redirected.safetensors");
    const auto r = pipe ? run_with_input("cat " + quote(dir / "in.txt") + " |",
                                         "train --corpus -" + tiny + " --out " + quote(out), "")
                        : run_with_input("", "train --corpus -" + tiny + " --out " + quote(out),
                                         "< " + quote(dir / "in.txt"));
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out + r.err, Catch::Contains(std::to_string(text.size()) + " characters"));
    const charlstm::checkpoint_info info = info_of(out);
    CHECK(info.vocab.as_chars().symbols == symbols_of(text));
    CHECK(info.metadata.at("corpus") == "-");
  }
  // An empty standard input is an empty corpus.
  const auto empty = run_cli("train --corpus -" + tiny + " --out " + quote(dir / "e.safetensors"));
  CHECK(empty.exit_code == 1);
  CHECK_THAT(empty.err, Catch::Contains("corpus '-' is empty"));
}

TEST_CASE("An output that is one of the corpus's files is refused before any work", "[cli]") {
  temp_dir dir;
  write_text(dir / "a.txt", test_support::small_corpus(1500));
  write_text(dir / "b.txt", test_support::small_corpus(900));
  ::mkdir((dir / "texts").c_str(), 0755);
  write_text(dir / "texts/c.txt", test_support::small_corpus(900));
  const std::string before = charlstm::read_file_bytes(dir / "b.txt");
  const auto r = run_cli("train --corpus " + quote(dir / "a.txt") + " " + quote(dir / "b.txt") +
                         tiny + " --force --out " + quote(dir / "b.txt"));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("is the input '" + dir / "b.txt" + "'"));
  CHECK(charlstm::read_file_bytes(dir / "b.txt") == before);
  // A file found in a folder is an input too.
  const auto in_folder = run_cli("train --corpus " + quote(dir / "texts") + tiny +
                                 " --force --out " + quote(dir / "texts/c.txt"));
  CHECK(in_folder.exit_code == 1);
  CHECK_THAT(in_folder.err, Catch::Contains("is the input '" + dir / "texts/c.txt" + "'"));
  // Standard input redirected from a file is that file.
  const auto from_stdin =
      run_with_input("", "train --corpus -" + tiny + " --force --out " + quote(dir / "a.txt"),
                     "< " + quote(dir / "a.txt"));
  CHECK(from_stdin.exit_code == 1);
  CHECK_THAT(from_stdin.err, Catch::Contains("is the input '/dev/stdin'"));
}

TEST_CASE("generate reads its prime from a file or standard input, never with --prime", "[cli]") {
  temp_dir dir;
  write_text(dir / "corpus.txt", test_support::small_corpus(1500));
  const std::string model = quote(dir / "m.safetensors");
  REQUIRE(
      run_cli("train --corpus " + quote(dir / "corpus.txt") + tiny + " --out " + model).exit_code ==
      0);
  const std::string prime = "the quick brown fox\nman is ";
  write_text(dir / "prime.txt", prime);
  const std::string flags = " --length 60 --seed 5 --temperature 0.7 --model " + model;
  const auto given = run_cli("generate --prime " + quote(prime) + flags);
  REQUIRE(given.exit_code == 0);
  CHECK(given.out.compare(0, prime.size(), prime) == 0);
  const auto from_file = run_cli("generate --prime-file " + quote(dir / "prime.txt") + flags);
  INFO(from_file.err);
  CHECK(from_file.exit_code == 0);
  CHECK(from_file.out == given.out);
  const auto from_stdin =
      run_with_input("", "generate --prime-file -" + flags, "< " + quote(dir / "prime.txt"));
  CHECK(from_stdin.exit_code == 0);
  CHECK(from_stdin.out == given.out);
  const auto piped = run_with_input("cat " + quote(dir / "prime.txt") + " |",
                                    "generate --prime-file -" + flags, "");
  CHECK(piped.exit_code == 0);
  CHECK(piped.out == given.out);

  // Both primes: a usage error.  An empty file, a binary one, --out onto it: errors, file kept.
  const auto both = run_cli("generate --prime x --prime-file " + quote(dir / "prime.txt") + flags);
  CHECK(both.exit_code == 2);
  CHECK_THAT(both.err, Catch::StartsWith("charlstm: error: ") && Catch::Contains("--prime"));
  write_text(dir / "empty.txt", "");
  const auto empty = run_cli("generate --prime-file " + quote(dir / "empty.txt") + flags);
  CHECK(empty.exit_code == 1);
  CHECK_THAT(empty.err, Catch::Contains("--prime-file " + dir / "empty.txt" + " is empty"));
  write_text(dir / "binary.txt", std::string("ab\0cd", 5));
  const auto binary = run_cli("generate --prime-file " + quote(dir / "binary.txt") + flags);
  CHECK(binary.exit_code == 1);
  CHECK_THAT(binary.err, Catch::Contains("NUL byte at byte offset 2"));
  const auto onto = run_cli("generate --prime-file " + quote(dir / "prime.txt") + flags +
                            " --force --out " + quote(dir / "prime.txt"));
  CHECK(onto.exit_code == 1);
  CHECK_THAT(onto.err, Catch::Contains("is the input '" + dir / "prime.txt" + "'"));
  CHECK(charlstm::read_file_bytes(dir / "prime.txt") == prime);
}
