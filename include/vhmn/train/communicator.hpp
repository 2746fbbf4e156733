// vhmn/train/communicator.hpp — the few collective operations data-parallel
// training needs, as an interface with no MPI in it.
//
// What this represents: R processes ("ranks") of one training run. Every
// operation is collective: all ranks call it, in the same order, with the
// same sizes (gather_all: sizes may differ per rank). The MPI
// implementation is train/mpi_communicator.hpp (-DVHMN_USE_MPI=ON); the rest
// of the library only sees this interface, so it builds without MPI.
// Ensures: sum() and start_sum() leave the same bits on every rank
// (MPI_Allreduce reduces each element in one place and sends the result
// on); failures throw vhmn::Error naming the operation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vhmn::train {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;  // 0 .. size() - 1
  virtual int size() const = 0;

  /// In place: data[i] becomes the sum over ranks of data[i] (n values).
  virtual void sum(float* data, std::size_t n) = 0;
  virtual void sum(double* data, std::size_t n) = 0;
  /// Non-blocking sum(): starts the in-place sum of data[0, n) and returns;
  /// `data` must stay untouched until wait_sums() returns. Every rank starts
  /// the same sums in the same order. The default sums at once (for a
  /// communicator without non-blocking collectives).
  virtual void start_sum(float* data, std::size_t n) { sum(data, n); }
  virtual void start_sum(double* data, std::size_t n) { sum(data, n); }
  /// Lets started sums advance (MPI moves them on only inside MPI calls).
  virtual void progress_sums() {}
  /// Returns once every started sum is complete.
  virtual void wait_sums() {}
  /// Every rank's `bytes`, concatenated in rank order, into `out`;
  /// `offsets` (size() + 1 entries) says where each rank's part starts.
  virtual void gather_all(const void* data, std::size_t bytes, std::vector<unsigned char>& out,
                          std::vector<std::size_t>& offsets) = 0;
  /// Ends every rank of the run at once (after an error only one rank saw,
  /// which would leave the others waiting in a collective).
  virtual void abort(int exit_code) noexcept = 0;
};

}  // namespace vhmn::train
