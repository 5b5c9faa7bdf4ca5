// cellshift_rdkit: the import's structure work (parent fragment, canonical SMILES, Bemis–Murcko
// scaffold, Morgan bits) done by native RDKit (Debian's librdkit-dev), for a batch of SMILES in one
// call, defined exactly as src-main/node/chem/chemistry.ts defines it for the wasm build and as
// Python RDKit computes it (bench/chemistry_rdkit.py).
//
//   describe(smiles: string[], radius, nBits, chirality) -> Result[]            (this thread)
//   describeAsync(smiles: string[], radius, nBits, chirality) -> Promise<Result[]> (a libuv thread)
//   info() -> { rdkit: "2022.09.x", boost: "1_74" }
// Result: { canonicalSmiles, removedFragments, scaffoldSmiles, fingerprint: Uint8Array (one byte a
// bit) } or { error }. The JavaScript side has refused empty, placeholder and oversized input.
//
// Thread safety: every molecule is owned by one call; RDKit is built with RDK_BUILD_THREADSAFE_SSS
// (checked below), which guards its shared state (ring-info caches, the periodic table, SMILES
// parser tables are per call). Only the error log is shared: it is captured under a mutex.
#include <node_api.h>

#include <GraphMol/Descriptors/MolDescriptors.h>
#include <GraphMol/Fingerprints/MorganFingerprints.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <DataStructs/ExplicitBitVect.h>
#include <RDGeneral/RDConfig.h>
#include <RDGeneral/RDLog.h>
#include <RDGeneral/versions.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#ifndef RDK_BUILD_THREADSAFE_SSS
#error "cellshift_rdkit runs RDKit on two threads at once: it needs an RDKit built with RDK_BUILD_THREADSAFE_SSS"
#endif

namespace {

struct Params {
  unsigned radius = 2;
  unsigned nBits = 1024;
  bool chirality = false;
};

struct Described {
  std::string error;  // empty when ok
  std::string canonical;
  std::vector<std::string> removed;
  std::string scaffold;
  bool scaffoldOk = false;
  std::vector<uint8_t> bits;
};

std::mutex logMutex;

// RDKit's reason for refusing a SMILES ("SMILES Parse Error: ..."): parsed again with the error log
// pointed at a string, once, under a lock (the log is process-wide); only failures pay for this.
std::string parseFailureReason(const std::string &smiles) {
  std::lock_guard<std::mutex> lock(logMutex);
  std::ostringstream captured;
  auto &log = rdErrorLog;
  std::ostream *dest = log ? log->dp_dest : nullptr;
  bool enabled = log ? log->df_enabled : false;
  if (log) {
    log->dp_dest = &captured;
    log->df_enabled = true;
  }
  try {
    std::unique_ptr<RDKit::RWMol> again(RDKit::SmilesToMol(smiles));
  } catch (...) {
  }
  if (log) {
    log->dp_dest = dest;
    log->df_enabled = enabled;
  }
  // Keep the messages, not the echo of the input nor the ^ marker line; at most three.
  std::istringstream lines(captured.str());
  std::string line, reason;
  int kept = 0;
  while (std::getline(lines, line) && kept < 3) {
    auto close = line.find("] ");
    if (!line.empty() && line[0] == '[' && close != std::string::npos) line = line.substr(close + 2);
    while (!line.empty() && (line.back() == ':' || line.back() == ' ' || line.back() == '\r')) line.pop_back();
    if (line.empty() || line.find_first_not_of(" ^~") == std::string::npos) continue;
    if (line.find(": ") == std::string::npos && smiles.find(line) != std::string::npos) continue;
    if (line.rfind("SMILES Parse Error: Failed parsing SMILES", 0) == 0 && kept > 0) continue;
    reason += (kept ? "; " : "") + line;
    kept++;
  }
  return reason.size() > 300 ? reason.substr(0, 300) + "…" : reason;
}

std::unique_ptr<RDKit::RWMol> parse(const std::string &smiles, std::string &error) {
  try {
    std::unique_ptr<RDKit::RWMol> mol(RDKit::SmilesToMol(smiles));
    if (mol) return mol;
    std::string reason = parseFailureReason(smiles);
    error = reason.empty() ? "invalid SMILES" : "invalid SMILES: " + reason;
  } catch (const RDKit::MolSanitizeException &e) {
    error = std::string("invalid SMILES: ") + e.what();
  } catch (const std::exception &e) {
    error = std::string("RDKit failed to parse the SMILES: ") + e.what();
  }
  return nullptr;
}

// The parent (largest fragment by heavy atoms, then exact mass, then smaller canonical SMILES) as
// chemistry.ts #parentFragment picks it, re-read from its SMILES like there.
bool parentOf(std::unique_ptr<RDKit::RWMol> &mol, Described &out) {
  std::vector<int> mapping;
  if (RDKit::MolOps::getMolFrags(*mol, mapping) <= 1) return true;
  struct Fragment {
    std::string smiles;
    unsigned heavyAtoms;
    double mass;
  };
  std::vector<Fragment> fragments;
  for (const auto &fragment : RDKit::MolOps::getMolFrags(*mol, true)) {
    fragments.push_back({RDKit::MolToSmiles(*fragment), fragment->getNumHeavyAtoms(), RDKit::Descriptors::calcExactMW(*fragment)});
  }
  std::stable_sort(fragments.begin(), fragments.end(), [](const Fragment &a, const Fragment &b) {
    if (a.heavyAtoms != b.heavyAtoms) return a.heavyAtoms > b.heavyAtoms;
    if (a.mass != b.mass) return a.mass > b.mass;
    return a.smiles < b.smiles;
  });
  for (size_t i = 1; i < fragments.size(); i++) out.removed.push_back(fragments[i].smiles);
  std::string error;
  auto reparsed = parse(fragments[0].smiles, error);
  if (!reparsed) {
    out.error = "parent fragment " + fragments[0].smiles + " could not be re-read: " + error;
    return false;
  }
  mol = std::move(reparsed);
  return true;
}

// The atoms a Bemis–Murcko scaffold keeps: ring atoms, and chain atoms on a path between two
// rings. A chain atom is in no ring, so each of its bonds is a bridge: it lies on a path between
// rings exactly when two or more of its branches reach a ring, which is what is left after chain
// ends (chain atoms with at most one neighbour left) are pruned repeatedly. RDKit's MurckoDecompose
// finds the same atoms from an all-pairs shortest-path matrix (O(n³)), most of its time.
std::vector<char> scaffoldAtoms(const RDKit::ROMol &mol) {
  const unsigned n = mol.getNumAtoms();
  const RDKit::RingInfo *rings = mol.getRingInfo();
  std::vector<char> keep(n, 1);
  std::vector<unsigned> degree(n, 0);
  std::vector<unsigned> ends;
  for (unsigned i = 0; i < n; i++) {
    degree[i] = mol.getAtomWithIdx(i)->getDegree();
    if (!rings->numAtomRings(i) && degree[i] <= 1) ends.push_back(i);
  }
  while (!ends.empty()) {
    unsigned atom = ends.back();
    ends.pop_back();
    if (!keep[atom]) continue;
    keep[atom] = 0;
    for (const auto *neighbour : mol.atomNeighbors(mol.getAtomWithIdx(atom))) {
      unsigned j = neighbour->getIdx();
      if (keep[j] && !rings->numAtomRings(j) && --degree[j] <= 1) ends.push_back(j);
    }
  }
  return keep;
}

// The scaffold's canonical SMILES as Python's MurckoScaffold.GetScaffoldForMol + MolToSmiles
// write it: RDKit's MurckoDecompose rules for what is cut (an atom double-bonded to the scaffold
// stays; a scaffold atom that loses a neighbour gets its hydrogens back: one on an aromatic
// heteroatom or aromatic carbocation, else implicit ones, and loses its chirality), then the
// same clean-up and ring perception before writing.
bool scaffoldOf(const RDKit::ROMol &mol, std::string &out) {
  try {
    const std::vector<char> keep = scaffoldAtoms(mol);
    if (std::find(keep.begin(), keep.end(), 1) == keep.end()) {
      out.clear();  // no ring: the scaffold is empty
      return true;
    }
    RDKit::RWMol core(mol);
    std::vector<unsigned> cut;
    for (unsigned i = 0; i < keep.size(); i++) {
      if (keep[i]) continue;
      RDKit::Atom *atom = core.getAtomWithIdx(i);
      bool drop = true;
      for (auto *neighbour : core.atomNeighbors(atom)) {
        if (!keep[neighbour->getIdx()]) continue;
        if (core.getBondBetweenAtoms(i, neighbour->getIdx())->getBondType() == RDKit::Bond::DOUBLE) {
          drop = false;
          break;
        }
        const bool aromatic = neighbour->getIsAromatic();
        if (aromatic && (neighbour->getAtomicNum() != 6 || neighbour->getFormalCharge() == 1)) {
          neighbour->setNumExplicitHs(1);
        } else if (neighbour->getNoImplicit() || neighbour->getChiralTag() != RDKit::Atom::CHI_UNSPECIFIED) {
          neighbour->setNoImplicit(false);
          neighbour->setNumExplicitHs(0);
          neighbour->setChiralTag(RDKit::Atom::CHI_UNSPECIFIED);
        }
      }
      if (drop) cut.push_back(i);
    }
    core.beginBatchEdit();
    for (unsigned i : cut) core.removeAtom(i);
    core.commitBatchEdit();
    core.clearComputedProps();
    core.updatePropertyCache();
    RDKit::MolOps::symmetrizeSSSR(core);
    out = RDKit::MolToSmiles(core);
    return true;
  } catch (const std::exception &) {
    return false;
  }
}

Described describeOne(const std::string &smiles, const Params &params) {
  Described out;
  try {
    auto mol = parse(smiles, out.error);
    if (!mol) return out;
    if (mol->getNumAtoms() == 0) {
      out.error = "SMILES has no atoms";
      return out;
    }
    if (!parentOf(mol, out)) return out;
    out.canonical = RDKit::MolToSmiles(*mol);
    std::unique_ptr<ExplicitBitVect> fp(
        RDKit::MorganFingerprints::getFingerprintAsBitVect(*mol, params.radius, params.nBits, nullptr, nullptr, params.chirality));
    out.bits.assign(params.nBits, 0);
    for (unsigned i = 0; i < params.nBits; i++) out.bits[i] = fp->getBit(i) ? 1 : 0;
    out.scaffoldOk = scaffoldOf(*mol, out.scaffold);
  } catch (const std::exception &e) {
    out = Described();
    out.error = std::string("RDKit failed on this structure: ") + e.what();
  }
  return out;
}

// --- Node-API glue ------------------------------------------------------------------------------

#define CHECK(call)                                   \
  do {                                                \
    if ((call) != napi_ok) return throwLast(env);     \
  } while (0)

napi_value throwLast(napi_env env) {
  const napi_extended_error_info *info = nullptr;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, nullptr, info && info->error_message ? info->error_message : "Node-API call failed");
  return nullptr;
}

napi_value str(napi_env env, const std::string &s) {
  napi_value v;
  napi_create_string_utf8(env, s.data(), s.size(), &v);
  return v;
}

void set(napi_env env, napi_value obj, const char *key, napi_value value) { napi_set_named_property(env, obj, key, value); }

napi_value toJs(napi_env env, const Described &d) {
  napi_value obj;
  napi_create_object(env, &obj);
  if (!d.error.empty()) {
    set(env, obj, "error", str(env, d.error));
    return obj;
  }
  set(env, obj, "canonicalSmiles", str(env, d.canonical));
  napi_value removed;
  napi_create_array_with_length(env, d.removed.size(), &removed);
  for (size_t i = 0; i < d.removed.size(); i++) napi_set_element(env, removed, i, str(env, d.removed[i]));
  set(env, obj, "removedFragments", removed);
  napi_value scaffold;
  if (d.scaffoldOk)
    scaffold = str(env, d.scaffold);
  else
    napi_get_null(env, &scaffold);
  set(env, obj, "scaffoldSmiles", scaffold);
  void *data = nullptr;
  napi_value buffer, bits;
  napi_create_arraybuffer(env, d.bits.size(), &data, &buffer);
  if (!d.bits.empty()) std::copy(d.bits.begin(), d.bits.end(), static_cast<uint8_t *>(data));
  napi_create_typedarray(env, napi_uint8_array, d.bits.size(), buffer, 0, &bits);
  set(env, obj, "fingerprint", bits);
  return obj;
}

napi_value toJs(napi_env env, const std::vector<Described> &all) {
  napi_value array;
  napi_create_array_with_length(env, all.size(), &array);
  for (size_t i = 0; i < all.size(); i++) napi_set_element(env, array, i, toJs(env, all[i]));
  return array;
}

std::string getString(napi_env env, napi_value value, bool &ok) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, nullptr, 0, &length) != napi_ok) {
    ok = false;
    return {};
  }
  std::string s(length, '\0');
  napi_get_value_string_utf8(env, value, &s[0], length + 1, &length);
  ok = true;
  return s;
}

// Reads (smiles[], radius, nBits, chirality); throws a TypeError/RangeError and returns false on bad arguments.
bool readArgs(napi_env env, napi_callback_info info, std::vector<std::string> &smiles, Params &params) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  bool isArray = false;
  if (argc < 4 || napi_is_array(env, argv[0], &isArray) != napi_ok || !isArray) {
    napi_throw_type_error(env, nullptr, "describe(smiles: string[], radius, nBits, chirality)");
    return false;
  }
  uint32_t n = 0, radius = 0, nBits = 0;
  bool chirality = false;
  napi_get_array_length(env, argv[0], &n);
  if (napi_get_value_uint32(env, argv[1], &radius) != napi_ok || napi_get_value_uint32(env, argv[2], &nBits) != napi_ok ||
      napi_get_value_bool(env, argv[3], &chirality) != napi_ok || radius > 6 || nBits < 1 || nBits > 65536) {
    napi_throw_range_error(env, nullptr, "radius must be 0..6, nBits 1..65536, chirality a boolean");
    return false;
  }
  params = {radius, nBits, chirality};
  smiles.reserve(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value element;
    napi_get_element(env, argv[0], i, &element);
    bool ok = false;
    smiles.push_back(getString(env, element, ok));
    if (!ok) {
      napi_throw_type_error(env, nullptr, "every SMILES must be a string");
      return false;
    }
  }
  return true;
}

std::vector<Described> describeAll(const std::vector<std::string> &smiles, const Params &params) {
  std::vector<Described> out;
  out.reserve(smiles.size());
  for (const auto &s : smiles) out.push_back(describeOne(s, params));
  return out;
}

napi_value Describe(napi_env env, napi_callback_info info) {
  std::vector<std::string> smiles;
  Params params;
  if (!readArgs(env, info, smiles, params)) return nullptr;
  return toJs(env, describeAll(smiles, params));
}

struct AsyncBatch {
  std::vector<std::string> smiles;
  Params params;
  std::vector<Described> results;
  napi_deferred deferred = nullptr;
  napi_async_work work = nullptr;
};

void executeBatch(napi_env, void *data) {
  auto *batch = static_cast<AsyncBatch *>(data);
  batch->results = describeAll(batch->smiles, batch->params);
}

void completeBatch(napi_env env, napi_status status, void *data) {
  std::unique_ptr<AsyncBatch> batch(static_cast<AsyncBatch *>(data));
  if (status == napi_ok) {
    napi_resolve_deferred(env, batch->deferred, toJs(env, batch->results));
  } else {
    napi_value message, error;
    napi_create_string_utf8(env, "describing the structures was cancelled", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, nullptr, message, &error);
    napi_reject_deferred(env, batch->deferred, error);
  }
  napi_delete_async_work(env, batch->work);
}

napi_value DescribeAsync(napi_env env, napi_callback_info info) {
  auto batch = std::make_unique<AsyncBatch>();
  if (!readArgs(env, info, batch->smiles, batch->params)) return nullptr;
  napi_value promise, name;
  CHECK(napi_create_promise(env, &batch->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "cellshift_rdkit.describe", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, nullptr, name, executeBatch, completeBatch, batch.get(), &batch->work));
  CHECK(napi_queue_async_work(env, batch->work));
  batch.release();
  return promise;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj;
  napi_create_object(env, &obj);
  set(env, obj, "rdkit", str(env, RDKit::rdkitVersion));
  set(env, obj, "boost", str(env, RDKit::boostVersion));
  return obj;
}

}  // namespace

NAPI_MODULE_INIT() {
  // RDKit's C++ library has no loggers until InitLogs; made quiet, since they would print every
  // refused SMILES on stderr: parseFailureReason turns the error log on for itself.
  static std::once_flag quiet;
  std::call_once(quiet, [] {
    RDLog::InitLogs();
    boost::logging::disable_logs("rdApp.*");
  });
  napi_property_descriptor methods[] = {
      {"describe", nullptr, Describe, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"describeAsync", nullptr, DescribeAsync, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(methods) / sizeof(methods[0]), methods);
  return exports;
}
