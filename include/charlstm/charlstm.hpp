// charlstm/charlstm.hpp: the whole library.  Only includes.
#pragma once

#include "checkpoint.hpp"
#include "config.hpp"
#include "corpus.hpp"
#include "dense.hpp"
#include "error.hpp"
#include "generate.hpp"
#include "json.hpp"
#include "loss.hpp"
#include "lstm.hpp"
#include "model.hpp"
#include "rmsprop.hpp"
#include "sampler.hpp"
#include "simd.hpp"
#include "tensor.hpp"
#include "trainer.hpp"
#include "vectorizer.hpp"
