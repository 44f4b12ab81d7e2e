/* The smallest complete moecpu program, in C: load a model, tokenize a prompt, stream a greedy
 * continuation. Links only the public header and -lmoecpu, as a desktop application would.
 *
 *   moe-simple-c model.gguf "The following options are supported:" 24
 */
#include <moecpu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int32_t print_piece(moecpu_token token, const char* piece, size_t len, void* user_data) {
    (void)token;
    (void)user_data;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return 0; /* non-zero would stop generation */
}

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf PROMPT [N_TOKENS]\n", argv[0]);
        return 2;
    }
    const char* path = argv[1];
    const char* prompt = argv[2];
    const int n_predict = argc > 3 ? atoi(argv[3]) : 32;

    moecpu_model* model = NULL;
    if (moecpu_model_load(path, moecpu_model_default_params(), &model) != MOECPU_OK) {
        fprintf(stderr, "error: %s\n", moecpu_last_error());
        return 1;
    }
    moecpu_context* ctx = NULL;
    if (moecpu_context_create(model, moecpu_context_default_params(), &ctx) != MOECPU_OK) {
        fprintf(stderr, "error: %s\n", moecpu_last_error());
        moecpu_model_free(model);
        return 1;
    }

    moecpu_token tokens[1024];
    size_t n_tokens = 0;
    if (moecpu_tokenize(model, prompt, strlen(prompt), 1, 1, tokens, 1024, &n_tokens) != MOECPU_OK) {
        fprintf(stderr, "error: %s\n", moecpu_last_error());
        moecpu_context_free(ctx);
        moecpu_model_free(model);
        return 1;
    }

    moecpu_sampler_params sampling = moecpu_sampler_default_params();
    sampling.temperature = 0.0f; /* greedy: the same text every run */
    int32_t n_generated = 0;
    printf("%s", prompt);
    const moecpu_status st = moecpu_generate(ctx, tokens, n_tokens, n_predict, sampling, print_piece, NULL, &n_generated);
    printf("\n");
    if (st != MOECPU_OK) fprintf(stderr, "error: %s\n", moecpu_last_error());
    fprintf(stderr, "%d tokens generated with moecpu %s (%s kernels)\n", n_generated, moecpu_version(), moecpu_cpu_isa());

    moecpu_context_free(ctx);
    moecpu_model_free(model);
    return st == MOECPU_OK ? 0 : 1;
}
