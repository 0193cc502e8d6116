// Reads what Python's torch.save wrote (the ZIP format of PyTorch >= 1.6 and the older "legacy" stream
// format) without LibTorch's unpickler and without executing anything.
//
// Why our own: LibTorch's torch::pickle_load turns collections.OrderedDict -- the type of every
// state_dict -- into None, cannot read the legacy format, and its unpickler was never meant for
// untrusted bytes. This is a small pickle virtual machine for protocols 2-5 that understands numbers,
// strings, tuples, lists, dicts and tensors (torch._utils._rebuild_tensor_v2 / _rebuild_parameter);
// any other Python object (a pickled nn.Module, a numpy scalar, ...) becomes an opaque Object that
// records its class name, its constructor arguments and its BUILD state, so callers can still find
// tensors inside (e.g. a whole pickled generator) or report what the file holds.
// Every size, index, memo reference and tensor view is bounds-checked; errors name the file.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace coalesce {

class ZipArchive;

struct PickleValue {
    enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Tensor, Global, Object, Storage };
    Kind kind = Kind::None;
    bool boolean = false;
    std::int64_t integer = 0;
    double real = 0;
    std::string text;                        // String, Bytes; Global/Object: "module.name"; Storage: key
    std::vector<const PickleValue*> items;   // Tuple, List; Object: constructor arguments
    std::vector<std::pair<const PickleValue*, const PickleValue*>> dict;  // Dict (insertion order)
    const PickleValue* state = nullptr;      // Object: what BUILD set (usually its __dict__)
    torch::Tensor tensor;                    // Tensor (CPU, owns its memory)

    bool isString(const std::string& s) const { return kind == Kind::String && text == s; }
    // Dict lookup by string key; nullptr if absent or not a dict.
    const PickleValue* get(const std::string& key) const;
};

// The values live in an arena (cycles and deep nesting cannot cause recursion or leaks on destruction).
struct PickledFile {
    std::shared_ptr<std::vector<std::unique_ptr<PickleValue>>> arena;
    const PickleValue* root = nullptr;
    bool legacyFormat = false;
};

// The zip must already be validated (ZipArchive does that); expects "<root>/data.pkl" and "<root>/data/<key>".
PickledFile readTorchSaveZip(const ZipArchive& archive);
// Pre-flight for TorchScript archives, run before torch::jit::load: every pickle LibTorch will unpickle
// (data.pkl, constants.pkl, code/*.debug_pkl) must parse here and every tensor it references must lie
// inside its stored bytes. LibTorch's own unpickler then only ever sees well-formed pickles.
void checkTorchScriptPickles(const ZipArchive& archive);
// Legacy (PyTorch < 1.6 or _use_new_zipfile_serialization=False) stream format.
bool looksLikeLegacyTorchSave(const std::string& bytes);
PickledFile readTorchSaveLegacy(const std::string& bytes, const std::string& file);

// "dict with 12 entries", "Object __main__.Generator", ... for messages.
std::string describePickleValue(const PickleValue* value);

}  // namespace coalesce
