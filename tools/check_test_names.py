#!/usr/bin/env python3
"""Every Catch test case runs under ctest, once, under its own name.

ctest runs a Catch test case by passing its name to the Catch executable as a filter.  A name
that CMake splits (a `;` in it) or that matches nothing would run no test at all, and Catch v2
exits 0 when a filter matches nothing, so ctest would report it as passed.  This compares, for
every Catch executable, the names ctest registered (`ctest --show-only=json-v1`, the list
`ctest -N` prints) with the names Catch lists (`--list-test-names-only`), and checks that every
registered test passes `--warn NoTests` (Catch then fails a filter that matches nothing).  Every
other ctest test must be named in --other, so that a Catch executable registered some other way
is not silently left out.  Run by ctest as `catch_test_names` (tests/CMakeLists.txt).

usage: check_test_names.py --ctest CTEST --build-dir DIR
           --catch 'EXECUTABLE|PREFIX' [--catch ...] [--other TEST_NAME ...]
Standard library only.
"""
import argparse
import json
import os
import subprocess
import sys


def catch_filter(name):
    """The filter CatchAddTests.cmake passes for a test case name: , [ ] escaped."""
    for ch in ",[]":
        name = name.replace(ch, "\\" + ch)
    return name


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ctest", required=True)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--catch", action="append", default=[], metavar="EXECUTABLE|PREFIX")
    parser.add_argument("--other", action="append", default=[])
    args = parser.parse_args()

    shown = subprocess.run([args.ctest, "--test-dir", args.build_dir, "--show-only=json-v1"],
                           check=True, capture_output=True, text=True).stdout
    tests = json.loads(shown)["tests"]
    catch = {}
    for given in args.catch:
        exe, _, prefix = given.partition("|")
        catch[os.path.realpath(exe)] = prefix
    registered = {exe: [] for exe in catch}
    problems = []
    for test in tests:
        name, command = test["name"], test.get("command", [])
        exe = os.path.realpath(command[0]) if command else ""
        if exe in catch:
            registered[exe].append((name, command[1:]))
        elif name not in args.other:
            problems.append(f"ctest test '{name}' runs '{command[:1]}', which is neither a Catch "
                            "executable given with --catch nor a test named with --other: "
                            "register Catch executables with charlstm_discover_tests")

    cases = 0
    for exe, prefix in catch.items():
        listed = subprocess.run([exe, "--list-test-names-only"], capture_output=True,
                                text=True).stdout
        names = [line.rstrip("\r") for line in listed.split("\n") if line.strip()]
        if not names:
            problems.append(f"{exe} lists no test cases")
        cases += len(names)
        in_ctest = set()
        for test_name, rest in registered[exe]:
            if not test_name.startswith(prefix):
                problems.append(f"ctest test '{test_name}' of {exe} lacks the prefix '{prefix}'")
                continue
            name = test_name[len(prefix):]
            in_ctest.add(name)
            if name not in names:
                problems.append(f"ctest test '{test_name}' matches no Catch test case of {exe} "
                                "(a ';' in a test case name splits it in two)")
            elif not rest or rest[0] != catch_filter(name):
                problems.append(f"ctest test '{test_name}' passes the filter {rest[:1]}, not "
                                f"'{catch_filter(name)}'")
            if "--warn" not in rest or rest[rest.index("--warn") + 1:][:1] != ["NoTests"]:
                problems.append(f"ctest test '{test_name}' does not pass --warn NoTests")
        if len(in_ctest) != len(registered[exe]):
            problems.append(f"{exe}: a test case is registered with ctest more than once")
        for name in names:
            if name not in in_ctest:
                problems.append(f"Catch test case '{name}' of {exe} is not registered with ctest "
                                f"as '{prefix}{name}'")

    if problems:
        print("\n".join(problems))
        print(f"check_test_names: {len(problems)} problem(s)")
        return 1
    print(f"check_test_names: {cases} Catch test cases in {len(catch)} executables, each "
          f"registered once with ctest under its own name with --warn NoTests; "
          f"{len(tests) - cases} other ctest tests, all named")
    return 0


if __name__ == "__main__":
    sys.exit(main())
