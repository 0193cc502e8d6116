// Name -> tensor maps ("state dicts") and how they meet Coalesce's networks: strict copying into a
// module with messages that list the first mismatches, key normalisation for files written by other
// code ("module." from DataParallel, a bare nn.Sequential's "0.weight", ...), and inference of a
// generator's ArchSpec from tensor shapes alone.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "models/arch_spec.h"

namespace torch::nn {
class Module;
}

namespace coalesce {

using TensorMap = std::map<std::string, torch::Tensor>;

// "[100,256,4,4]"
std::string shapeText(c10::IntArrayRef sizes);

// Copies `tensors` (names relative to the module, e.g. "net.0.weight") into the module's parameters and
// buffers. Strict: every parameter/buffer must be present with the same shape, no unknown tensor may be
// left over, and floating tensors may not feed integer buffers. Floating types are converted (float64 or
// float16 files load into float32 modules). On failure throws Error:
//   "<file>: 6 tensors do not fit: <prefix>net.0.weight: shape [100,256,4,4] in file, [100,1024,4,4]
//    expected; ...; and 3 more<hint>"
// With zeroMissingLayerBiases, a convolution's or linear layer's missing ".bias" (whose ".weight" is
// present) is set to zero: weights from a bias=False network (common in DCGAN code) then compute exactly
// what they computed there.
void loadTensorsIntoModule(const TensorMap& tensors, torch::nn::Module& module, const std::string& fileForMessages,
                           const std::string& namePrefixForMessages = "", const std::string& hint = "",
                           bool zeroMissingLayerBiases = false);

// The module's parameters and buffers as detached CPU copies.
TensorMap moduleTensors(const torch::nn::Module& module);
// The first floating-point tensor holding NaN or ±Inf, as "name (k of n values are NaN/Inf)"; "" if none.
// Such weights are never usable (a diverged run, a damaged or hostile file): loaders refuse them naming the
// tensor, and checkpoints are never written with them, so "the last good checkpoint" stays true.
std::string firstNonFiniteTensor(const TensorMap& tensors);

// Makes foreign generator weights use Coalesce's names: drops "module." (DataParallel/DDP) and
// "_orig_mod." (torch.compile) anywhere in a name, a prefix shared by every key ("generator.", "netG.",
// "G." ...), and prefixes "net." when the keys come from a bare nn.Sequential ("0.weight").
TensorMap normalizeGeneratorNames(const TensorMap& tensors);

// Infers a generator architecture from its tensors (names already normalised): dcgan32 from four and
// dcgan64 from five ConvTranspose2d weights [in,out,4,4] (latent_dim, widths, channels), mlp2d from the Linear weights
// [out,in]. Critic widths are not stored with a generator: the matching preset's are assumed.
// Returns nullopt (with the reason in *why) if the tensors fit neither family.
std::optional<ArchSpec> inferGeneratorArch(const TensorMap& tensors, std::string* why = nullptr);

// Values in a generator's parameters (plus, with includeBuffers, BatchNorm's running statistics and
// counters), computed from the spec alone without building the network.
double generatorElementCount(const ArchSpec& spec, bool includeBuffers);
// An architecture read from a file is untrusted: refuse to build a network far larger than the tensors
// the file holds (a damaged or malicious "generator_widths" must not allocate gigabytes).
void requireArchFitsFile(const ArchSpec& spec, double valuesInFile, const std::string& fileForMessages);

// Short human label: "dcgan32 small", "dcgan32 cifar (3 channels)", "dcgan64 lsun (3 channels)", "mlp2d z=8 G 128-128-128 → R^2", ...
// generatorOnly ignores the critic widths (what matters when only a generator is loaded).
std::string archLabel(const ArchSpec& spec, bool generatorOnly = false);
// Same generator network (family, channels, latent, data dim, generator widths); critics may differ.
bool sameGenerator(const ArchSpec& a, const ArchSpec& b);

}  // namespace coalesce
