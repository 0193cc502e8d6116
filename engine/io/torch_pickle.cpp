#include "io/torch_pickle.h"

#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <unordered_map>

#include <torch/torch.h>

#include "core/display_name.h"
#include "core/error.h"
#include "io/zip_archive.h"

namespace coalesce {

namespace {

using Kind = PickleValue::Kind;
using Arena = std::vector<std::unique_ptr<PickleValue>>;

constexpr std::size_t kMaxValues = 2'000'000;  // a state_dict needs ~30 per tensor
constexpr std::size_t kMaxStack = 1'000'000;
constexpr int kMaxTensorDims = 16;

// Element type of a typed storage class as Python pickles it ("torch.FloatStorage").
bool storageScalarType(const std::string& name, torch::ScalarType* type) {
    static const std::map<std::string, torch::ScalarType> types{
        {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
        {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
        {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
        {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
        {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool},
    };
    auto it = types.find(name);
    if (it == types.end()) return false;
    *type = it->second;
    return true;
}

struct StorageInfo {
    torch::ScalarType type = torch::kFloat32;
    std::int64_t numel = 0;
    torch::Tensor data;  // flat, filled after parsing
    bool present = false;  // its bytes were found (and are large enough)
};

struct DeferredTensor {
    PickleValue* value;
    std::string storageKey;
    std::int64_t offset;
    std::vector<std::int64_t> sizes, strides;
};

class PickleMachine {
public:
    PickleMachine(Arena& arena, std::string file, bool legacy) : arena_(arena), file_(std::move(file)), legacy_(legacy) {}

    // Runs one pickle starting at data[pos]; leaves pos after its STOP opcode.
    PickleValue* run(const char* data, std::size_t size, std::size_t& pos);

    std::map<std::string, StorageInfo>& storages() { return storages_; }
    // Checks every tensor view lies inside its storage and, if `build`, creates the tensors.
    void materializeTensors(bool build);

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw Error(file_ + ": damaged or unsupported pickle data: " + what + " (at byte " + std::to_string(opStart_) + ")");
    }
    PickleValue* make(Kind kind) {
        if (arena_.size() >= kMaxValues) fail("too many objects");
        arena_.push_back(std::make_unique<PickleValue>());
        arena_.back()->kind = kind;
        return arena_.back().get();
    }
    void push(PickleValue* v) {
        if (stack_.size() >= kMaxStack) fail("stack overflow");
        stack_.push_back(v);
    }
    PickleValue* pop() {
        if (stack_.size() <= floor()) fail("stack underflow");
        PickleValue* v = stack_.back();
        stack_.pop_back();
        return v;
    }
    PickleValue* top() {
        if (stack_.size() <= floor()) fail("stack underflow");
        return stack_.back();
    }
    std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
    std::vector<PickleValue*> popToMark() {
        if (marks_.empty()) fail("missing MARK");
        std::vector<PickleValue*> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
        stack_.resize(marks_.back());
        marks_.pop_back();
        return items;
    }
    std::uint64_t readUnsigned(int width) {
        need(width);
        std::uint64_t v = 0;
        for (int i = width - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(data_[pos_ + i]);
        pos_ += width;
        return v;
    }
    void need(std::uint64_t n) const {
        if (n > size_ - pos_) fail("unexpected end of data");
    }
    std::string readBytes(std::uint64_t n) {
        need(n);
        std::string s(data_ + pos_, n);
        pos_ += n;
        return s;
    }
    std::string readLine() {
        for (std::size_t i = pos_; i < size_ && i < pos_ + 512; ++i)
            if (data_[i] == '\n') {
                std::string s(data_ + pos_, i - pos_);
                pos_ = i + 1;
                return s;
            }
        fail("unterminated text field");
    }
    void memoPut(std::uint64_t index) {
        if (memo_.size() >= kMaxValues && !memo_.count(index)) fail("memo too large");
        memo_[index] = top();
    }
    PickleValue* memoGet(std::uint64_t index) {
        auto it = memo_.find(index);
        if (it == memo_.end()) fail("reference to unknown memo entry " + std::to_string(index));
        return it->second;
    }
    PickleValue* makeInt(std::int64_t v) {
        PickleValue* p = make(Kind::Int);
        p->integer = v;
        return p;
    }
    PickleValue* makeString(Kind kind, std::string s) {
        PickleValue* p = make(kind);
        p->text = std::move(s);
        return p;
    }
    PickleValue* makeTuple(std::vector<PickleValue*> items) {
        PickleValue* t = make(Kind::Tuple);
        t->items.assign(items.begin(), items.end());
        return t;
    }
    void setItems(PickleValue* target, const std::vector<PickleValue*>& kv) {
        if (kv.size() % 2) fail("odd number of items for a dict");
        if (target->kind == Kind::Object) return;  // e.g. a defaultdict: contents are not needed
        if (target->kind != Kind::Dict) fail("SETITEM on a non-dict");
        // Duplicate keys are kept in order; readers let the last one win, as Python does.
        for (size_t i = 0; i < kv.size(); i += 2) target->dict.emplace_back(kv[i], kv[i + 1]);
    }
    void append(PickleValue* target, const std::vector<PickleValue*>& items) {
        if (target->kind == Kind::Object) return;  // a set or deque subclass: contents not needed
        if (target->kind != Kind::List) fail("APPEND on a non-list");
        target->items.insert(target->items.end(), items.begin(), items.end());
    }
    std::int64_t asInt(const PickleValue* v, const char* what) const {
        if (v->kind != Kind::Int) fail(std::string(what) + " is not an integer");
        return v->integer;
    }
    std::vector<std::int64_t> asIntTuple(const PickleValue* v, const char* what) const {
        if (v->kind != Kind::Tuple && v->kind != Kind::List) fail(std::string(what) + " is not a tuple");
        if (v->items.size() > kMaxTensorDims) fail(std::string(what) + " has too many dimensions");
        std::vector<std::int64_t> out;
        for (auto* item : v->items) out.push_back(asInt(item, what));
        return out;
    }
    PickleValue* persistentLoad(PickleValue* pid);
    PickleValue* call(PickleValue* callable, PickleValue* args);

    Arena& arena_;
    std::string file_;
    bool legacy_;
    const char* data_ = nullptr;
    std::size_t size_ = 0, pos_ = 0, opStart_ = 0;
    std::vector<PickleValue*> stack_;
    std::vector<std::size_t> marks_;
    std::unordered_map<std::uint64_t, PickleValue*> memo_;
    std::map<std::string, StorageInfo> storages_;
    std::vector<DeferredTensor> tensors_;
};

PickleValue* PickleMachine::persistentLoad(PickleValue* pid) {
    // ('storage', <storage class>, key, location, numel[, view_metadata (legacy)])
    if (pid->kind != Kind::Tuple || pid->items.empty() || !pid->items[0]->isString("storage")) {
        PickleValue* o = make(Kind::Object);
        o->text = "persistent object";  // e.g. the source code of a class in a legacy whole-model pickle
        return o;
    }
    if (pid->items.size() < 5) fail("storage reference with too few fields");
    const PickleValue* type = pid->items[1];
    const PickleValue* key = pid->items[2];
    if (type->kind != Kind::Global) fail("storage reference without a storage type");
    if (key->kind != Kind::String) fail("storage key is not a string");
    StorageInfo info;
    if (!storageScalarType(type->text, &info.type)) fail("unsupported storage type " + type->text);
    info.numel = asInt(pid->items[4], "storage size");
    if (info.numel < 0 || info.numel > (std::int64_t(1) << 40)) fail("implausible storage size");
    if (legacy_ && pid->items.size() > 5 && pid->items[5]->kind != Kind::None)
        fail("storage views of the pre-1.0 format are not supported");
    auto [it, inserted] = storages_.emplace(key->text, info);
    if (!inserted && (it->second.type != info.type || it->second.numel != info.numel))
        fail("storage '" + key->text + "' declared twice with different types or sizes");
    return makeString(Kind::Storage, key->text);
}

PickleValue* PickleMachine::call(PickleValue* callable, PickleValue* args) {
    if (args->kind != Kind::Tuple) fail("call arguments are not a tuple");
    const std::string name = callable->kind == Kind::Global ? callable->text : "<computed callable>";
    const auto& a = args->items;
    if (name == "collections.OrderedDict" || name == "builtins.dict" || name == "__builtin__.dict") {
        PickleValue* d = make(Kind::Dict);
        if (!a.empty() && (a[0]->kind == Kind::List || a[0]->kind == Kind::Tuple))
            for (auto* pair : a[0]->items) {
                if (pair->kind != Kind::Tuple || pair->items.size() != 2) fail("OrderedDict item is not a pair");
                d->dict.emplace_back(pair->items[0], pair->items[1]);
            }
        return d;
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
        if (a.size() < 4) fail(name + " with too few arguments");
        if (a[0]->kind != Kind::Storage) fail(name + " without a storage");
        DeferredTensor t;
        t.storageKey = a[0]->text;
        t.offset = asInt(a[1], "storage offset");
        t.sizes = asIntTuple(a[2], "tensor size");
        t.strides = asIntTuple(a[3], "tensor stride");
        if (t.sizes.size() != t.strides.size()) fail("tensor size and stride differ in length");
        t.value = make(Kind::Tensor);
        tensors_.push_back(t);
        return t.value;
    }
    // TorchScript's pickler (torch::pickle_save, C++ module attributes) wraps containers in type tags.
    if (name == "torch.jit._pickle.restore_type_tag" || name == "torch.jit._pickle.build_intlist" ||
        name == "torch.jit._pickle.build_doublelist" || name == "torch.jit._pickle.build_boollist" ||
        name == "torch.jit._pickle.build_tensorlist") {
        if (a.empty()) fail(name + " without arguments");
        return const_cast<PickleValue*>(a[0]);
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
        if (a.empty() || a[0]->kind != Kind::Tensor) fail(name + " without a tensor");
        return const_cast<PickleValue*>(a[0]);  // a Parameter is just its data here
    }
    PickleValue* o = make(Kind::Object);
    o->text = name;
    // copyreg._reconstructor(cls, base, state): name the real class in messages.
    if (name == "copyreg._reconstructor" && !a.empty() && a[0]->kind == Kind::Global) o->text = a[0]->text;
    o->items.assign(a.begin(), a.end());
    return o;
}

PickleValue* PickleMachine::run(const char* data, std::size_t size, std::size_t& pos) {
    data_ = data;
    size_ = size;
    pos_ = pos;
    stack_.clear();
    marks_.clear();
    memo_.clear();
    while (true) {
        opStart_ = pos_;
        need(1);
        const unsigned char op = static_cast<unsigned char>(data_[pos_++]);
        switch (op) {
            case 0x80: readUnsigned(1); break;  // PROTO
            case 0x95: readUnsigned(8); break;  // FRAME: framing is irrelevant when all bytes are in memory
            case '.': {                          // STOP
                PickleValue* result = pop();
                if (!stack_.empty() || !marks_.empty()) fail("data left on the stack at STOP");
                pos = pos_;
                return result;
            }
            case '(': marks_.push_back(stack_.size()); break;  // MARK
            case '1': popToMark(); break;                       // POP_MARK
            case '0': pop(); break;                             // POP
            case '2': push(top()); break;                       // DUP
            case 'N': push(make(Kind::None)); break;
            case 0x88: case 0x89: {  // NEWTRUE, NEWFALSE
                PickleValue* b = make(Kind::Bool);
                b->boolean = op == 0x88;
                push(b);
                break;
            }
            case 'J': push(makeInt(static_cast<std::int32_t>(readUnsigned(4)))); break;  // BININT
            case 'K': push(makeInt(static_cast<std::int64_t>(readUnsigned(1)))); break;  // BININT1
            case 'M': push(makeInt(static_cast<std::int64_t>(readUnsigned(2)))); break;  // BININT2
            case 0x8a: {  // LONG1: little-endian two's complement of n bytes
                const std::uint64_t n = readUnsigned(1);
                if (n > 8) fail("integer wider than 64 bits");
                std::uint64_t v = n ? readUnsigned(static_cast<int>(n)) : 0;
                if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~std::uint64_t(0) << (8 * n);  // sign-extend
                push(makeInt(static_cast<std::int64_t>(v)));
                break;
            }
            case 'I': {  // INT (text): also True/False in protocol 0
                const std::string line = readLine();
                if (line == "01" || line == "00") {
                    PickleValue* b = make(Kind::Bool);
                    b->boolean = line == "01";
                    push(b);
                } else {
                    try {
                        size_t used = 0;
                        long long v = std::stoll(line, &used);
                        if (used != line.size()) fail("malformed INT");
                        push(makeInt(v));
                    } catch (const std::logic_error&) {
                        fail("malformed INT");
                    }
                }
                break;
            }
            case 'G': {  // BINFLOAT: big-endian IEEE double
                need(8);
                std::uint64_t bits = 0;
                for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<unsigned char>(data_[pos_ + i]);
                pos_ += 8;
                PickleValue* f = make(Kind::Float);
                std::memcpy(&f->real, &bits, 8);
                push(f);
                break;
            }
            case 'X': push(makeString(Kind::String, readBytes(readUnsigned(4)))); break;     // BINUNICODE
            case 0x8c: push(makeString(Kind::String, readBytes(readUnsigned(1)))); break;    // SHORT_BINUNICODE
            case 0x8d: push(makeString(Kind::String, readBytes(readUnsigned(8)))); break;    // BINUNICODE8
            case 'T': push(makeString(Kind::String, readBytes(readUnsigned(4)))); break;     // BINSTRING (py2 str)
            case 'U': push(makeString(Kind::String, readBytes(readUnsigned(1)))); break;     // SHORT_BINSTRING
            case 'B': push(makeString(Kind::Bytes, readBytes(readUnsigned(4)))); break;      // BINBYTES
            case 'C': push(makeString(Kind::Bytes, readBytes(readUnsigned(1)))); break;      // SHORT_BINBYTES
            case 0x8e: push(makeString(Kind::Bytes, readBytes(readUnsigned(8)))); break;     // BINBYTES8
            case ')': push(make(Kind::Tuple)); break;                                        // EMPTY_TUPLE
            case 0x85: case 0x86: case 0x87: {                                               // TUPLE1..3
                const int n = op - 0x84;
                std::vector<PickleValue*> items(n);
                for (int i = n - 1; i >= 0; --i) items[i] = pop();
                push(makeTuple(items));
                break;
            }
            case 't': push(makeTuple(popToMark())); break;  // TUPLE
            case ']': push(make(Kind::List)); break;        // EMPTY_LIST
            case 'l': {                                     // LIST
                PickleValue* l = make(Kind::List);
                auto items = popToMark();
                l->items.assign(items.begin(), items.end());
                push(l);
                break;
            }
            case 'a': {  // APPEND
                PickleValue* v = pop();
                append(top(), {v});
                break;
            }
            case 'e': {  // APPENDS
                auto items = popToMark();
                append(top(), items);
                break;
            }
            case '}': push(make(Kind::Dict)); break;  // EMPTY_DICT
            case 'd': {                               // DICT
                PickleValue* d = make(Kind::Dict);
                setItems(d, popToMark());
                push(d);
                break;
            }
            case 's': {  // SETITEM
                PickleValue* value = pop();
                PickleValue* key = pop();
                setItems(top(), {key, value});
                break;
            }
            case 'u': {  // SETITEMS
                auto items = popToMark();
                setItems(top(), items);
                break;
            }
            case 'c': {  // GLOBAL "module\nname\n"
                std::string module = readLine();
                std::string name = readLine();
                push(makeString(Kind::Global, module + "." + name));
                break;
            }
            case 0x93: {  // STACK_GLOBAL
                PickleValue* name = pop();
                PickleValue* module = pop();
                if (name->kind != Kind::String || module->kind != Kind::String) fail("STACK_GLOBAL needs two strings");
                push(makeString(Kind::Global, module->text + "." + name->text));
                break;
            }
            case 'R': {  // REDUCE
                PickleValue* args = pop();
                PickleValue* callable = pop();
                push(call(callable, args));
                break;
            }
            case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
                PickleValue* args = pop();
                PickleValue* cls = pop();
                PickleValue* o = make(Kind::Object);
                o->text = cls->kind == Kind::Global ? cls->text : "<computed class>";
                if (args->kind == Kind::Tuple) o->items = args->items;
                push(o);
                break;
            }
            case 0x92: {  // NEWOBJ_EX
                pop();  // kwargs
                PickleValue* args = pop();
                PickleValue* cls = pop();
                PickleValue* o = make(Kind::Object);
                o->text = cls->kind == Kind::Global ? cls->text : "<computed class>";
                if (args->kind == Kind::Tuple) o->items = args->items;
                push(o);
                break;
            }
            case 'b': {  // BUILD: obj.__setstate__(state); for dicts/tensors the state is not needed
                PickleValue* state = pop();
                PickleValue* target = top();
                if (target->kind == Kind::Object) target->state = state;
                break;
            }
            case 'Q': push(persistentLoad(pop())); break;  // BINPERSID
            case 'q': memoPut(readUnsigned(1)); break;      // BINPUT
            case 'r': memoPut(readUnsigned(4)); break;      // LONG_BINPUT
            case 0x94: memoPut(memo_.size()); break;        // MEMOIZE
            case 'h': push(memoGet(readUnsigned(1))); break;  // BINGET
            case 'j': push(memoGet(readUnsigned(4))); break;  // LONG_BINGET
            case 'p': case 'g': {                             // PUT / GET (text index)
                const std::string line = readLine();
                std::uint64_t index = 0;
                if (line.empty() || line.size() > 18) fail("malformed memo index");
                for (char ch : line) {
                    if (ch < '0' || ch > '9') fail("malformed memo index");
                    index = index * 10 + static_cast<std::uint64_t>(ch - '0');
                }
                if (op == 'p') memoPut(index);
                else push(memoGet(index));
                break;
            }
            default: {
                char hex[8];
                std::snprintf(hex, sizeof hex, "0x%02x", op);
                fail(std::string("unsupported opcode ") + hex);
            }
        }
    }
}

void PickleMachine::materializeTensors(bool build) {
    for (auto& t : tensors_) {
        auto it = storages_.find(t.storageKey);
        if (it == storages_.end() || !it->second.present)
            fail("tensor refers to missing storage '" + t.storageKey + "'");
        const StorageInfo& storage = it->second;
        // The view must stay inside the storage; all arithmetic is overflow-safe (values ≤ 2^40).
        bool empty = false;
        for (auto s : t.sizes) {
            if (s < 0 || s > (std::int64_t(1) << 40)) fail("invalid tensor size");
            if (s == 0) empty = true;
        }
        for (auto s : t.strides)
            if (s < 0 || s > (std::int64_t(1) << 40)) fail("invalid tensor stride");
        if (t.offset < 0 || t.offset > storage.numel) fail("tensor storage offset out of range");
        if (empty) {
            if (build) t.value->tensor = torch::empty(t.sizes, torch::TensorOptions().dtype(storage.type));
            continue;
        }
        __int128 last = t.offset;
        for (size_t i = 0; i < t.sizes.size(); ++i) last += static_cast<__int128>(t.sizes[i] - 1) * t.strides[i];
        if (last >= storage.numel)
            fail("tensor view reaches element " + std::to_string(static_cast<long long>(last)) + " of a storage with " +
                 std::to_string(storage.numel));
        if (build) t.value->tensor = storage.data.as_strided(t.sizes, t.strides, t.offset).clone(at::MemoryFormat::Contiguous);
    }
}

std::size_t storageElementSize(torch::ScalarType type) { return c10::elementSize(type); }

}  // namespace

const PickleValue* PickleValue::get(const std::string& key) const {
    if (kind != Kind::Dict) return nullptr;
    for (auto it = dict.rbegin(); it != dict.rend(); ++it)  // the last value for a key wins, as in Python
        if (it->first->kind == Kind::String && it->first->text == key) return it->second;
    return nullptr;
}

namespace {

// Runs one pickle of a validated archive; tensor bytes come from "<storageFolder><key>" entries.
PickledFile readArchivePickle(const ZipArchive& archive, const ZipEntry& pkl, const std::string& storageFolder, bool build) {
    const std::string& file = archive.file();
    PickledFile out;
    out.arena = std::make_shared<Arena>();
    PickleMachine machine(*out.arena, file + " (" + pkl.name + ")", false);
    const std::string pickle = archive.read(pkl);
    std::size_t pos = 0;
    out.root = machine.run(pickle.data(), pickle.size(), pos);
    if (pos != pickle.size()) throw Error(file + ": unexpected bytes after the pickle in " + pkl.name);
    for (auto& [key, storage] : machine.storages()) {
        const ZipEntry* entry = archive.find(storageFolder + key);
        if (!entry) throw Error(file + ": tensor data " + quotedName(storageFolder + key) + " is missing from the archive");
        const std::uint64_t needed = static_cast<std::uint64_t>(storage.numel) * storageElementSize(storage.type);
        if (entry->size < needed)
            throw Error(file + ": tensor data " + quotedName(key) + " has " + std::to_string(entry->size) + " bytes, " +
                        std::to_string(needed) + " expected (truncated?)");
        storage.present = true;
        if (!build) continue;
        std::string bytes = archive.read(*entry);
        storage.data = torch::empty({storage.numel}, torch::TensorOptions().dtype(storage.type));
        if (needed) std::memcpy(storage.data.data_ptr(), bytes.data(), needed);
    }
    machine.materializeTensors(build);
    return out;
}

std::string archivePrefix(const ZipArchive& archive) {
    return archive.rootFolder().empty() ? "" : archive.rootFolder() + "/";
}

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

PickledFile readTorchSaveZip(const ZipArchive& archive) {
    const std::string prefix = archivePrefix(archive);
    const ZipEntry* pkl = archive.find(prefix + "data.pkl");
    if (!pkl) throw Error(archive.file() + ": ZIP archive without data.pkl: not a file written by torch.save");
    return readArchivePickle(archive, *pkl, prefix + "data/", true);
}

void checkTorchScriptPickles(const ZipArchive& archive) {
    const std::string prefix = archivePrefix(archive);
    for (const auto& entry : archive.entries()) {
        if (entry.name == prefix + "data.pkl") readArchivePickle(archive, entry, prefix + "data/", false);
        else if (entry.name == prefix + "constants.pkl") readArchivePickle(archive, entry, prefix + "constants/", false);
        else if (endsWith(entry.name, ".debug_pkl")) readArchivePickle(archive, entry, prefix + "debug/", false);
    }
}

// Legacy stream: pickled magic number, protocol version, system info, the object, the list of storage
// keys; then for each key: int64 element count + raw little-endian bytes.
static const char kLegacyPrefix[] = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e";

bool looksLikeLegacyTorchSave(const std::string& bytes) {
    return bytes.size() >= sizeof(kLegacyPrefix) - 1 && bytes.compare(0, sizeof(kLegacyPrefix) - 1, kLegacyPrefix) == 0;
}

PickledFile readTorchSaveLegacy(const std::string& bytes, const std::string& file) {
    if (!looksLikeLegacyTorchSave(bytes)) throw Error(file + ": not a file written by torch.save");
    PickledFile out;
    out.arena = std::make_shared<Arena>();
    out.legacyFormat = true;
    PickleMachine machine(*out.arena, file, true);
    std::size_t pos = sizeof(kLegacyPrefix) - 1;
    const PickleValue* protocol = machine.run(bytes.data(), bytes.size(), pos);
    if (protocol->kind != PickleValue::Kind::Int || protocol->integer != 1001)
        throw Error(file + ": unsupported legacy torch.save protocol version");
    const PickleValue* sysInfo = machine.run(bytes.data(), bytes.size(), pos);
    const PickleValue* littleEndian = sysInfo->get("little_endian");
    if (littleEndian && littleEndian->kind == PickleValue::Kind::Bool && !littleEndian->boolean)
        throw Error(file + ": written on a big-endian machine (not supported)");
    out.root = machine.run(bytes.data(), bytes.size(), pos);
    const PickleValue* keys = machine.run(bytes.data(), bytes.size(), pos);
    if (keys->kind != PickleValue::Kind::List) throw Error(file + ": damaged legacy torch.save file (no storage list)");
    for (const PickleValue* key : keys->items) {
        if (key->kind != PickleValue::Kind::String) throw Error(file + ": damaged legacy torch.save file (storage key)");
        auto it = machine.storages().find(key->text);
        if (it == machine.storages().end())
            throw Error(file + ": damaged legacy torch.save file (unknown storage '" + key->text + "')");
        StorageInfo& storage = it->second;
        if (bytes.size() - pos < 8) throw Error(file + ": truncated: tensor data ends early");
        std::uint64_t count = 0;
        for (int i = 7; i >= 0; --i) count = (count << 8) | static_cast<unsigned char>(bytes[pos + i]);
        pos += 8;
        if (count != static_cast<std::uint64_t>(storage.numel))
            throw Error(file + ": damaged legacy torch.save file (storage '" + key->text + "' size mismatch)");
        const std::uint64_t needed = count * storageElementSize(storage.type);
        if (bytes.size() - pos < needed)
            throw Error(file + ": truncated: tensor data needs " + std::to_string(needed) + " more bytes than present");
        storage.data = torch::empty({storage.numel}, torch::TensorOptions().dtype(storage.type));
        storage.present = true;
        if (needed) std::memcpy(storage.data.data_ptr(), bytes.data() + pos, needed);
        pos += needed;
    }
    if (pos != bytes.size())
        throw Error(file + ": " + std::to_string(bytes.size() - pos) + " unexpected bytes after the tensor data");
    machine.materializeTensors(true);
    return out;
}

std::string describePickleValue(const PickleValue* v) {
    if (!v) return "nothing";
    switch (v->kind) {
        case Kind::None: return "None";
        case Kind::Bool: return v->boolean ? "True" : "False";
        case Kind::Int: return "integer " + std::to_string(v->integer);
        case Kind::Float: return "number";
        case Kind::String: return "string";
        case Kind::Bytes: return "bytes";
        case Kind::Tuple: return "tuple of " + std::to_string(v->items.size());
        case Kind::List: return "list of " + std::to_string(v->items.size());
        case Kind::Dict: return "dict with " + std::to_string(v->dict.size()) + " entries";
        case Kind::Tensor: return "tensor " + std::string(c10::toString(v->tensor.scalar_type())) + " " + c10::str(v->tensor.sizes());
        case Kind::Global: return "reference to " + v->text;
        case Kind::Object: return "Python object " + v->text;
        case Kind::Storage: return "tensor storage";
    }
    return "value";
}

}  // namespace coalesce
