/* moecpu — run quantized Mixture-of-Experts language models on CPUs.
 *
 * The whole public interface: plain C, opaque handles, by-value parameter structs with
 * *_default_params() functions. Every function that can fail returns a moecpu_status; the message
 * of the last failure on the calling thread is read with moecpu_last_error(). No C++ exception
 * ever leaves the library.
 *
 * Thread safety: a moecpu_model is immutable after loading and may be shared by any number of
 * threads and contexts. A moecpu_context (KV cache, logits, sampler state) must be used by one
 * thread at a time. moecpu_last_error() is per thread.
 */
#ifndef MOECPU_H
#define MOECPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MOECPU_VERSION_MAJOR 0
#define MOECPU_VERSION_MINOR 1
#define MOECPU_VERSION_PATCH 0
/* Bumped whenever a declaration below changes incompatibly. */
#define MOECPU_API_VERSION 1

#if defined(_WIN32)
#define MOECPU_API __declspec(dllexport)
#else
#define MOECPU_API __attribute__((visibility("default")))
#endif

typedef enum moecpu_status {
    MOECPU_OK = 0,
    MOECPU_ERR_INVALID_ARGUMENT = 1, /* null handle, bad parameter value */
    MOECPU_ERR_IO = 2,               /* file missing, unreadable, mmap failed */
    MOECPU_ERR_BAD_FORMAT = 3,       /* malformed or unsupported GGUF file */
    MOECPU_ERR_UNSUPPORTED = 4,      /* valid file, but an architecture/type not supported */
    MOECPU_ERR_OUT_OF_MEMORY = 5,
    MOECPU_ERR_CONTEXT_FULL = 6,     /* the KV cache has no room for the batch */
    MOECPU_ERR_CANCELLED = 7,        /* a callback asked generation to stop */
    MOECPU_ERR_INTERNAL = 8
} moecpu_status;

typedef int32_t moecpu_token;

typedef struct moecpu_model moecpu_model;
typedef struct moecpu_context moecpu_context;

/* "0.1.0" */
MOECPU_API const char* moecpu_version(void);
/* Message of the last failed call on this thread ("" if none). Valid until the next call. */
MOECPU_API const char* moecpu_last_error(void);
/* Short name of a status code, e.g. "MOECPU_ERR_IO". */
MOECPU_API const char* moecpu_status_name(moecpu_status status);
/* Kernel set chosen for this CPU ("avx2", "avx512", "neon", "scalar"). */
MOECPU_API const char* moecpu_cpu_isa(void);

/* ---- model ---------------------------------------------------------------------------- */
typedef struct moecpu_model_params {
    int32_t use_mmap;  /* 1 (default): weights are read in place from a read-only mapping */
    int32_t use_mlock; /* 1: lock non-expert weights in RAM */
    int32_t n_threads; /* threads for loading work; 0 = all cores */
    int32_t advise_random_experts; /* 1 (default): madvise(MADV_RANDOM) on the mapping, so a page fault
                                      in an expert reads only its page, not neighbouring experts; the
                                      non-expert tensors are requested whole at load (MADV_WILLNEED) */
} moecpu_model_params;

MOECPU_API moecpu_model_params moecpu_model_default_params(void);
MOECPU_API moecpu_status moecpu_model_load(const char* path, moecpu_model_params params,
                                           moecpu_model** out_model);
MOECPU_API void moecpu_model_free(moecpu_model* model);

MOECPU_API int32_t moecpu_model_n_vocab(const moecpu_model* model);
MOECPU_API int32_t moecpu_model_n_ctx_train(const moecpu_model* model);
MOECPU_API moecpu_token moecpu_model_bos(const moecpu_model* model); /* -1 if none */
MOECPU_API moecpu_token moecpu_model_eos(const moecpu_model* model); /* -1 if none */
/* Writes a one-line description (architecture, size, type mix) into buf; returns its length. */
MOECPU_API size_t moecpu_model_describe(const moecpu_model* model, char* buf, size_t buf_size);

/* ---- tokenizer ---------------------------------------------------------------------------- */
/* Tokenizes UTF-8 text. Writes up to max_tokens ids; *n_tokens receives the count needed (so a
 * too-small buffer can be retried). add_bos: prepend BOS when the model wants it.
 * parse_special: match special tokens such as <｜User｜> as wholes. */
MOECPU_API moecpu_status moecpu_tokenize(const moecpu_model* model, const char* text, size_t text_len,
                                         int32_t add_bos, int32_t parse_special,
                                         moecpu_token* tokens, size_t max_tokens, size_t* n_tokens);
/* Bytes of one token's text (may be a partial UTF-8 sequence). Returns the length needed. */
MOECPU_API size_t moecpu_token_to_piece(const moecpu_model* model, moecpu_token token, char* buf,
                                        size_t buf_size);

/* ---- chat ------------------------------------------------------------------------------------ */
typedef struct moecpu_chat_message {
    const char* role;    /* "system", "user" or "assistant" */
    const char* content; /* UTF-8 */
} moecpu_chat_message;

/* Renders a conversation with the model's embedded chat template (DeepSeek-V2/V3/R1 families:
 * BOS, <｜User｜>, <｜Assistant｜>; R1 templates open the reply with "<think>\n" and drop the
 * reasoning of earlier replies). Tokenize the result with parse_special = 1 and add_bos = 0.
 * Writes at most buf_size bytes (NUL-terminated when there is room); *out_len receives the
 * length needed. */
MOECPU_API moecpu_status moecpu_chat_apply_template(const moecpu_model* model, const moecpu_chat_message* messages,
                                                    size_t n_messages, int32_t add_generation_prompt, char* buf,
                                                    size_t buf_size, size_t* out_len);

/* ---- context and evaluation -------------------------------------------------------------- */
typedef struct moecpu_context_params {
    int32_t n_ctx;           /* KV cache length in tokens; 0 = min(4096, model's training context) */
    int32_t n_threads;       /* decode threads; 0 = all cores */
    int32_t n_threads_batch; /* prompt-processing threads; 0 = n_threads */
    int32_t n_batch;         /* max tokens per evaluation call; 0 = 512 */
    int32_t logits_all;      /* 1: keep logits for every token of a batch, not only the last */
    int32_t prefetch_experts;    /* 1 (default): once a layer's router has chosen, ask the OS to read
                                    the chosen experts' weights (MADV_WILLNEED) before they are used */
    int32_t prefetch_next_layer; /* 1: also hint the experts the next layer's router would choose for
                                    the current activations (a guess; default 0) */
} moecpu_context_params;

MOECPU_API moecpu_context_params moecpu_context_default_params(void);
MOECPU_API moecpu_status moecpu_context_create(moecpu_model* model, moecpu_context_params params,
                                               moecpu_context** out_ctx);
MOECPU_API void moecpu_context_free(moecpu_context* ctx);
/* Forgets everything after position n_keep (0 clears the cache). */
MOECPU_API moecpu_status moecpu_context_truncate(moecpu_context* ctx, int32_t n_keep);
MOECPU_API int32_t moecpu_context_n_past(const moecpu_context* ctx);

/* Appends n tokens to the context and evaluates them. */
MOECPU_API moecpu_status moecpu_eval(moecpu_context* ctx, const moecpu_token* tokens, size_t n);
/* Logits of the i-th token of the last batch (i = -1: the last one); [n_vocab] floats, valid
 * until the next eval. Null if that row was not kept (see logits_all). */
MOECPU_API const float* moecpu_get_logits(moecpu_context* ctx, int32_t i);

/* ---- residency and access statistics ------------------------------------------------------ */
/* What evaluation touched since the context was created or moecpu_stats_reset() was called. */
typedef struct moecpu_stats {
    int64_t n_tokens;                /* tokens evaluated */
    int32_t n_layers;
    int32_t n_moe_layers;
    uint64_t file_bytes;             /* size of the GGUF file */
    uint64_t expert_bytes;           /* all routed expert tensors (ffn_{gate,up,down}_exps) */
    uint64_t expert_bytes_resident;  /* of which in RAM now (mincore on the mapping) */
    uint64_t other_bytes;            /* every other tensor */
    uint64_t other_bytes_resident;   /* of which in RAM now */
    uint64_t expert_bytes_touched;   /* sum over layers of the selected (distinct) experts' gate+up+down bytes */
    uint64_t minor_faults;           /* page faults of the whole process (getrusage) */
    uint64_t major_faults;           /* faults that waited for the disk */
    uint64_t disk_read_bytes;        /* bytes the process read from storage (/proc/self/io; 0 if unavailable) */
    int32_t mlock_state;             /* 0: not requested, 1: non-expert weights locked, -1: refused (RLIMIT_MEMLOCK) */
} moecpu_stats;

typedef struct moecpu_layer_stats {
    int32_t is_moe;                  /* 0 for the leading dense layers (all other fields 0) */
    int32_t n_expert;                /* routed experts in the layer */
    int32_t n_distinct;              /* experts selected at least once */
    int64_t n_selections;            /* tokens x experts used per token */
    uint64_t expert_bytes_touched;   /* n_distinct x one expert's gate+up+down bytes */
    uint64_t expert_bytes_resident;  /* this layer's expert tensors in RAM now */
} moecpu_layer_stats;

MOECPU_API moecpu_status moecpu_get_stats(moecpu_context* ctx, moecpu_stats* out);
MOECPU_API moecpu_status moecpu_get_layer_stats(moecpu_context* ctx, int32_t layer, moecpu_layer_stats* out);
/* How often each expert of `layer` was selected: writes min(n, n_expert) counts. */
MOECPU_API moecpu_status moecpu_get_expert_counts(moecpu_context* ctx, int32_t layer, int64_t* counts, size_t n);
/* Zeroes the counts and takes new fault/disk baselines. */
MOECPU_API void moecpu_stats_reset(moecpu_context* ctx);

/* ---- sampling and generation -------------------------------------------------------------- */
typedef struct moecpu_sampler_params {
    float temperature;        /* 0 = greedy; default 0.8 */
    int32_t top_k;            /* 0 = off; default 40 */
    float top_p;              /* 1 = off; default 0.95 */
    float min_p;              /* 0 = off; default 0.05 */
    float repeat_penalty;     /* 1 = off; default 1.0 */
    int32_t repeat_last_n;    /* tokens the penalty looks back; default 64 */
    uint64_t seed;            /* same seed, same tokens; default 0xC0FFEE */
} moecpu_sampler_params;

MOECPU_API moecpu_sampler_params moecpu_sampler_default_params(void);
/* Samples from the last logits of ctx. */
MOECPU_API moecpu_status moecpu_sample(moecpu_context* ctx, moecpu_sampler_params params,
                                       moecpu_token* out_token);

/* Called for each generated token with its text piece; return non-zero to stop. */
typedef int32_t (*moecpu_token_callback)(moecpu_token token, const char* piece, size_t piece_len,
                                         void* user_data);

/* Evaluates the prompt tokens, then generates up to n_predict tokens (stops at EOS), calling
 * callback for each. *n_generated receives the count. */
MOECPU_API moecpu_status moecpu_generate(moecpu_context* ctx, const moecpu_token* prompt, size_t n_prompt,
                                         int32_t n_predict, moecpu_sampler_params params,
                                         moecpu_token_callback callback, void* user_data,
                                         int32_t* n_generated);

#ifdef __cplusplus
}
#endif

#endif /* MOECPU_H */
