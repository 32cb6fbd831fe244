/* test_cli.c — the built `awm` binary (argv[1]): `validate` exit codes 0/2/1 and messages,
 * `sizes` and `themes` as a table and as JSON, `--help` on each. */
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "support/testkit.h"
#include "test.h"
#include "util/util.h"

static const char *awm;
static char dir[512];
static char *out_text, *err_text;

/* Run awm with args (NULL-terminated); capture stdout and stderr; return the exit status. */
static int run(const char *const *args)
{
    char out_path[256], err_path[256];
    snprintf(out_path, sizeof out_path, "%s/stdout", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    int code = tk_run(awm, args, out_path, err_path);
    if (code < 0) {
        fprintf(stderr, "cannot run %s\n", awm);
        return -1;
    }
    free(out_text);
    free(err_text);
    size_t len;
    if (!awm_read_file(out_path, &out_text, &len, NULL))
        out_text = awm_strdup("");
    if (!awm_read_file(err_path, &err_text, &len, NULL))
        err_text = awm_strdup("");
    return code;
}
#define RUN_AWM(...) run((const char *const[]){__VA_ARGS__, NULL})

static char *write_file(const char *name, const char *text)
{
    char *path = awm_xmalloc(300);
    snprintf(path, 300, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void validate_accepts_the_sample(void)
{
    char path[4096], want[4200];
    snprintf(path, sizeof path, "%s/assets/sample-map.json", awm_env_str("AWM_SOURCE_ROOT", "."));
    CHECK_INT_EQ(RUN_AWM("validate", path), 0);
    snprintf(want, sizeof want, "%s: valid (2 people, 6 locations)\n", path);
    CHECK_STR_EQ(out_text, want);
}

static void validate_lists_every_violation_and_exits_2(void)
{
    char *path = write_file("bad.json",
                            "{\"title\":\"\",\"people\":[{\"id\":\"a\",\"name\":\"A\",\"locations\":"
                            "[{\"longitude\":0,\"latitude\":95}]}],\"zoom\":0}");
    CHECK_INT_EQ(RUN_AWM("validate", path), 2);
    char want[2048];
    snprintf(want, sizeof want,
             "%s: title: must not be empty\n"
             "%s: people[0].locations[0].latitude: must be between -90 and 90 (got 95)\n"
             "%s: zoom: must be greater than 0 and at most 20 (got 0)\n",
             path, path, path);
    CHECK_STR_EQ(err_text, want);
    CHECK_STR_EQ(out_text, "");
    free(path);

    path = write_file("syntax.json", "{\"title\": \"T\",\n");
    CHECK_INT_EQ(RUN_AWM("validate", path), 2);
    CHECK(strstr(err_text, "invalid JSON at line 2") != NULL);
    free(path);

    path = write_file("utf8.json", "{\"title\": \"\xff\"}");
    CHECK_INT_EQ(RUN_AWM("validate", path), 2);
    CHECK(strstr(err_text, "invalid UTF-8 at byte offset 11") != NULL);
    free(path);
}

static void validate_reports_warnings_and_exits_0(void)
{
    char title[201];
    for (int i = 0; i < 200; i++)
        title[i] = "Family journey "[i % 15];
    title[199] = 'x';
    title[200] = '\0';
    char json[1024];
    snprintf(json, sizeof json, "{\"title\": \"%s\", \"labels\": \"places\", \"people\": [{\"id\": \"a\", "
                                "\"name\": \"A\", \"locations\": [{\"longitude\": 1, \"latitude\": 2, \"date\": \"1987\"}]}]}",
             title);
    char *path = write_file("long-title.json", json);
    CHECK_INT_EQ(RUN_AWM("validate", path), 0);
    char want[2048];
    snprintf(want, sizeof want,
             "%s: warning: labels: no location has a name, so no place label is drawn\n"
             "%s: warning: title: shortened to fit the title box\n",
             path, path);
    /* (under ASan, LeakSanitizer may add its suppression summary after them) */
    CHECK_MSG(!strncmp(err_text, want, strlen(want)), "stderr: %s", err_text);
    snprintf(want, sizeof want, "%s: valid (1 person, 1 location)\n", path);
    CHECK_STR_EQ(out_text, want);
    free(path);
}

static void validate_unreadable_file_exits_1(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/missing.json", dir);
    CHECK_INT_EQ(RUN_AWM("validate", path), 1);
    CHECK(strstr(err_text, "missing.json") != NULL);
}

static void validate_usage(void)
{
    CHECK_INT_EQ(RUN_AWM("validate"), 2);
    CHECK(strstr(err_text, "usage: awm validate") != NULL);
    CHECK_INT_EQ(RUN_AWM("validate", "--help"), 0);
    CHECK(strstr(out_text, "usage: awm validate") != NULL);
    CHECK_INT_EQ(RUN_AWM("validate", "a.json", "b.json"), 2);
}

static void sizes_table_and_json(void)
{
    CHECK_INT_EQ(RUN_AWM("sizes"), 0);
    CHECK(strstr(out_text, "18x24          18 x 24         1296 x 1728         5475 x 7275            39.8\n") != NULL);
    CHECK(strstr(out_text, "A1-landscape   33.08 x 23.38   2381.76 x 1683.36   9999 x 7089            70.9\n") != NULL);
    size_t lines = 0;
    for (const char *p = out_text; *p; p++)
        lines += *p == '\n';
    CHECK_INT_EQ(lines, 17); /* header + 16 sizes */

    CHECK_INT_EQ(RUN_AWM("sizes", "--json"), 0);
    json_t *arr = json_loads(out_text, 0, NULL);
    CHECK(json_is_array(arr) && json_array_size(arr) == 16);
    json_t *a4 = json_array_get(arr, 8);
    CHECK_STR_EQ(json_string_value(json_object_get(a4, "key")), "A4");
    CHECK_NEAR(json_number_value(json_object_get(a4, "widthPt")), 595.44, 1e-9);
    CHECK_INT_EQ(json_integer_value(json_object_get(a4, "heightPx")), 3582);
    json_decref(arr);

    CHECK_INT_EQ(RUN_AWM("sizes", "--help"), 0);
    CHECK(strstr(out_text, "usage: awm sizes") != NULL);
    CHECK_INT_EQ(RUN_AWM("sizes", "--bogus"), 2);
}

static void themes_table_and_json(void)
{
    CHECK_INT_EQ(RUN_AWM("themes"), 0);
    CHECK(strstr(out_text, "warm-earth (Warm Earth)\n") != NULL);
    CHECK(strstr(out_text, "#9c6644 #6a994e #bc6c25 #606c38 #bc4749 #8b7355 #718355") != NULL);

    CHECK_INT_EQ(RUN_AWM("themes", "--json"), 0);
    json_t *arr = json_loads(out_text, 0, NULL);
    CHECK(json_is_array(arr) && json_array_size(arr) == 4);
    json_t *blue = json_array_get(arr, 1);
    CHECK_STR_EQ(json_string_value(json_object_get(blue, "displayName")), "Cool Blue");
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(blue, "colors"), "ocean")), "#a8dadc");
    CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(blue, "palette"), 6)), "#7209b7");
    json_decref(arr);

    CHECK_INT_EQ(RUN_AWM("themes", "--help"), 0);
    CHECK(strstr(out_text, "usage: awm themes") != NULL);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_cli PATH/TO/awm\n");
        return 1;
    }
    awm = argv[1];
    tk_mkdtemp_or_exit(dir, sizeof dir, "test-cli");
    RUN(validate_accepts_the_sample);
    RUN(validate_lists_every_violation_and_exits_2);
    RUN(validate_reports_warnings_and_exits_0);
    RUN(validate_unreadable_file_exits_1);
    RUN(validate_usage);
    RUN(sizes_table_and_json);
    RUN(themes_table_and_json);
    free(out_text);
    free(err_text);
    const char *names[] = {"stdout", "stderr", "bad.json", "syntax.json", "utf8.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[300];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
    return TEST_EXIT();
}
