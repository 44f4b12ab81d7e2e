#include "examples/bench/bench_matmul.h"

#include "cpu-kernels/matmul.h"
#include "quant/type_traits.h"

namespace moecpu::bench {

BenchMatmul::BenchMatmul(const kernels::KernelTable& table, GgmlType type, int64_t rows, int64_t k, int n)
    : table_(table), type_(type), rows_(rows), k_(k), n_(n) {
    const size_t bytes = kernels::matmul_work_size(type, k, n);
    if (bytes) work_.reset(new uint8_t[bytes]);
}

void BenchMatmul::run(const void* w, const float* x, float* out, int threads) const {
    kernels::MatmulArgs args;
    args.w_type = type_;
    args.w = w;
    args.w_row_bytes = row_size(type_, k_);
    args.n_rows = rows_;
    args.k = k_;
    args.x = x;
    args.x_stride = k_;
    args.n_tokens = n_;
    args.y = out;
    args.y_stride = rows_;
    args.work = work_.get();
    args.table = &table_;
    kernels::matmul(args, threads);
}

}  // namespace moecpu::bench
