/*
 * The smallest medner program: find the entities of one string.
 *
 *   cc annotate_one.c $(pkg-config --cflags --libs medner) -o annotate_one
 *   ./annotate_one MODEL_DIR "Patient with type 2 diabetes, on metformin."
 */
#include <stdio.h>
#include <string.h>

#include <medner.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL_DIR TEXT\n", argv[0]);
        return 2;
    }
    medner_pipeline_params params = MEDNER_PIPELINE_PARAMS_INIT;
    params.model_dir = argv[1];
    medner_pipeline *pipeline = NULL;
    medner_context *context = NULL;
    medner_entities *entities = NULL;
    const char *text = argv[2];
    size_t len = strlen(text);

    int rc = medner_pipeline_create(&pipeline, &params);
    if (rc == MEDNER_OK)
        rc = medner_pipeline_context_create(&context, pipeline);
    if (rc == MEDNER_OK)
        rc = medner_pipeline_annotate(&entities, pipeline, context, &text, &len, 1);
    if (rc != MEDNER_OK) {
        fprintf(stderr, "medner: %s: %s\n", medner_status_str(rc), medner_last_error());
    } else {
        for (size_t i = 0; i < medner_entities_count(entities); i++) {
            medner_entity e = MEDNER_ENTITY_INIT;
            medner_entities_get(entities, i, &e);
            printf("%-12s %.3f  [%zu, %zu)  %.*s", e.label, e.score, e.begin, e.end,
                   (int)(e.end - e.begin), text + e.begin);
            /* clinical context (on when the model's labels look clinical) */
            if (e.context & MEDNER_CONTEXT_NEGATED)
                printf("  negated");
            if (e.context & MEDNER_CONTEXT_FAMILY)
                printf("  family");
            if (e.sentence != SIZE_MAX)
                printf("  (%s, sentence %zu)", medner_section_name((medner_section)e.section),
                       e.sentence);
            printf("\n");
        }
    }
    medner_entities_free(entities);
    medner_context_free(context);
    medner_pipeline_free(pipeline);
    return rc == MEDNER_OK ? 0 : 1;
}
