// TorchScript archives (torch.jit.save / torch.jit.load). The only translation unit of the io module that
// includes LibTorch's JIT headers (torch/script.h): keep it that way, they are slow to compile.
// Private to engine/io; the public API is io/model_files.h.
#pragma once
#include <string>

#include "io/state_dict.h"
#include "models/networks.h"

namespace coalesce {

class ZipArchive;

struct TorchScriptWeights {
    TensorMap tensors;          // parameters and buffers by their module path ("net.0.weight")
    std::string coalesceJson;   // the archive's extra/coalesce.json when Coalesce wrote it, else ""
};

// `archive` must already be validated by ZipArchive (structure and CRCs); its pickles are then checked
// by checkTorchScriptPickles, and only then are its bytes given to torch::jit::load -- in the worker
// program (POSIX: `coalesce-torchscript-worker --weights`, io/torchscript_worker.h, started with
// posix_spawn: forking a multi-threaded process is undefined behaviour), because LibTorch's TorchScript
// compiler can crash on crafted code/*.py; a crash or a hang there is reported as an Error. The
// module's code is compiled but never run: only its parameters and buffers are read.
TorchScriptWeights readTorchScriptWeights(const ZipArchive& archive);
// The same in this process, unprotected: for the worker program only.
TorchScriptWeights readTorchScriptWeightsInThisProcess(const ZipArchive& archive);

// A TorchScript module equivalent to the generator, built in C++ without Python: the same module tree
// as tests/python/coalesce_nets.py (net.0, net.1, ... with the same parameter and buffer names) and a
// forward written in TorchScript, so Python's torch.jit.load(path) runs it directly. Eval mode by
// default. `coalesceJson` is stored as extra/coalesce.json and as the string attribute coalesce_arch.
void writeTorchScriptGenerator(const GeneratorImpl& generator, const std::string& path, const std::string& coalesceJson);

}  // namespace coalesce
