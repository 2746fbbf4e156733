// vhmn/train/mpi_communicator.hpp — Communicator over MPI (the C API).
//
// The one header of vhmn that includes <mpi.h>: build with
// -DVHMN_USE_MPI=ON (target vhmn::mpi), launch with mpirun or srun.
//   auto comm = std::make_shared<vhmn::train::MpiCommunicator>();
//   options.parallel.communicator = comm;   // TrainOptions
//   vhmn::train::Trainer<float> trainer(model, train, &test, norm, loader, options);
// MPI is initialised here when nobody did (MPI_THREAD_FUNNELED: only the
// training thread calls MPI) and finalised by the last communicator that
// initialised it. Every call runs on a private duplicate of MPI_COMM_WORLD
// with MPI_ERRORS_RETURN, so a failed call throws vhmn::Error naming it.
// start_sum() is MPI_Iallreduce; OpenMPI advances it only inside MPI calls
// (no progress thread), so callers poll progress_sums() (MPI_Testall).
// Faults: when a rank dies, the launcher (mpirun, srun) ends the others;
// README "Multi-machine training" gives the time it takes.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include "vhmn/core/error.hpp"
#include "vhmn/train/communicator.hpp"

namespace vhmn::train {

/// True when this process was started by an MPI launcher (OpenMPI's mpirun,
/// MPICH's hydra, Slurm's srun with PMI/PMIx): only then is MPI worth
/// starting; a plain `vhmn train` stays one process without it.
inline bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(var)) return true;
  return false;
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns_mpi_ = true;
    }
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    MPI_Comm_free(&comm_);
    if (owns_mpi_) MPI_Finalize();
  }
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void sum(float* data, std::size_t n) override { all_reduce(data, n, MPI_FLOAT); }
  void sum(double* data, std::size_t n) override { all_reduce(data, n, MPI_DOUBLE); }
  void start_sum(float* data, std::size_t n) override { start_all_reduce(data, n, MPI_FLOAT); }
  void start_sum(double* data, std::size_t n) override { start_all_reduce(data, n, MPI_DOUBLE); }
  void progress_sums() override {
    if (requests_.empty()) return;
    int done = 0;  // all done: MPI_Testall frees them and leaves MPI_REQUEST_NULL
    check(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE),
          "MPI_Testall");
  }
  void wait_sums() override {
    if (requests_.empty()) return;
    const int code = MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
    requests_.clear();  // kept capacity: no allocation in the steady state
    check(code, "MPI_Waitall (gradient sums)");
  }

  void gather_all(const void* data, std::size_t bytes, std::vector<unsigned char>& out,
                  std::vector<std::size_t>& offsets) override {
    VHMN_CHECK(bytes <= static_cast<std::size_t>(INT_MAX), "MPI gather of " << bytes << " bytes exceeds INT_MAX");
    int mine = static_cast<int>(bytes);
    counts_.resize(static_cast<std::size_t>(size_));
    displs_.resize(static_cast<std::size_t>(size_));
    check(MPI_Allgather(&mine, 1, MPI_INT, counts_.data(), 1, MPI_INT, comm_), "MPI_Allgather");
    offsets.assign(static_cast<std::size_t>(size_) + 1, 0);
    for (int r = 0; r < size_; ++r) {
      offsets[static_cast<std::size_t>(r) + 1] = offsets[static_cast<std::size_t>(r)] + std::size_t(counts_[std::size_t(r)]);
      VHMN_CHECK(offsets[static_cast<std::size_t>(r)] <= static_cast<std::size_t>(INT_MAX),
                 "MPI gather of " << offsets.back() << " bytes exceeds INT_MAX");
      displs_[static_cast<std::size_t>(r)] = static_cast<int>(offsets[static_cast<std::size_t>(r)]);
    }
    out.resize(std::max<std::size_t>(offsets.back(), 1));
    check(MPI_Allgatherv(data, mine, MPI_BYTE, out.data(), counts_.data(), displs_.data(), MPI_BYTE, comm_),
          "MPI_Allgatherv");
  }

  void abort(int exit_code) noexcept override { MPI_Abort(comm_, exit_code); }

 private:
  // Chunks below INT_MAX elements (MPI counts are int).
  static constexpr std::size_t kChunk = std::size_t(1) << 30;
  void all_reduce(void* data, std::size_t n, MPI_Datatype type) {
    int bytes = 0;
    MPI_Type_size(type, &bytes);
    auto* p = static_cast<unsigned char*>(data);
    for (std::size_t at = 0; at < n; at += kChunk) {
      const int count = static_cast<int>(std::min(kChunk, n - at));
      check(MPI_Allreduce(MPI_IN_PLACE, p + at * std::size_t(bytes), count, type, MPI_SUM, comm_), "MPI_Allreduce");
    }
  }
  void start_all_reduce(void* data, std::size_t n, MPI_Datatype type) {
    int bytes = 0;
    MPI_Type_size(type, &bytes);
    auto* p = static_cast<unsigned char*>(data);
    for (std::size_t at = 0; at < n; at += kChunk) {
      const int count = static_cast<int>(std::min(kChunk, n - at));
      requests_.push_back(MPI_REQUEST_NULL);
      check(MPI_Iallreduce(MPI_IN_PLACE, p + at * std::size_t(bytes), count, type, MPI_SUM, comm_, &requests_.back()),
            "MPI_Iallreduce");
    }
  }
  void check(int code, const char* what) const {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, text, &len);
    VHMN_FAIL(what << " failed on rank " << rank_ << ": " << std::string(text, static_cast<std::size_t>(len)));
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  bool owns_mpi_ = false;
  std::vector<int> counts_, displs_;
  std::vector<MPI_Request> requests_;  // started sums, until wait_sums()
};

}  // namespace vhmn::train
