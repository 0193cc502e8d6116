// The torch-free face of io/model_files.h for programs that must not include torch (the GUI's
// QObject code): what `coalesce-cli info` says about a generator file, read by the same engine loader
// (every supported format, checksums, shapes), so the workbench accepts exactly what the CLI loads.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace coalesce {

// {"file", "size_bytes", "format", "arch" (JSON or null), "arch_description", "arch_source",
//  "generator_parameters", "modules", "tensors", "meta", "problem" (only when the weights do not make
//  a usable generator)}. Throws coalesce::Error naming the file if it cannot be read as a model file.
nlohmann::json describeModelFile(const std::string& path);

}  // namespace coalesce
