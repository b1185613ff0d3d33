/* avro_call: Avro C's error text is one buffer per process; two threads
 * whose schemas fail at once each get their own message. Without the lock
 * the messages swap (checked on Debian's avro-c 1.11 before avro_call). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "avro_call.h"
#include "test.h"

#define ROUNDS 20000

struct worker {
    const char *json;
    char first[AVRO_CALL_MSG_MAX];  /* its message, taken alone */
    int swapped;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        avro_schema_t s = NULL;
        char msg[AVRO_CALL_MSG_MAX];
        if (avro_call_schema_from_json(w->json, strlen(w->json), &s, msg) == 0) {
            avro_schema_decref(s);
            w->swapped++;
            continue;
        }
        if (strcmp(msg, w->first) != 0)
            w->swapped++;
    }
    return NULL;
}

static void test_messages_do_not_swap(void)
{
    struct worker w[2] = {
        {"{\"type\": \"record\", \"name\": \"A\"}", "", 0},
        {"{\"type\": \"enum\", \"name\": \"B\", \"symbols\": 7}", "", 0},
    };
    for (int i = 0; i < 2; i++) {
        avro_schema_t s = NULL;
        REQUIRE(avro_call_schema_from_json(w[i].json, strlen(w[i].json), &s, w[i].first) != 0);
        REQUIRE(w[i].first[0] != '\0');
    }
    /* two different failures, two different messages */
    REQUIRE(strcmp(w[0].first, w[1].first) != 0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        REQUIRE(pthread_create(&t[i], NULL, work, &w[i]) == 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(w[0].swapped, 0);
    CHECK_INT(w[1].swapped, 0);
}

static void test_other_calls(void)
{
    char msg[AVRO_CALL_MSG_MAX];
    avro_schema_t s = NULL;
    const char *json = "{\"type\": \"record\", \"name\": \"R\", \"fields\": "
                       "[{\"name\": \"x\", \"type\": \"long\"}]}";
    REQUIRE(avro_call_schema_from_json(json, strlen(json), &s, msg) == 0);
    CHECK_STR(msg, "");
    avro_value_iface_t *c = avro_call_generic_class(s, msg);
    REQUIRE(c);
    avro_value_t v;
    CHECK_INT(avro_call_generic_value_new(c, &v, msg), 0);
    avro_value_decref(&v);
    avro_value_iface_t *r = avro_call_resolved_writer(s, s, msg);
    REQUIRE(r);
    avro_value_t rv;
    CHECK_INT(avro_call_resolved_writer_value(r, &rv, msg), 0);
    avro_value_decref(&rv);
    avro_value_iface_decref(r);
    /* a writer that cannot be resolved to the reader: Avro C's reason */
    avro_schema_t str = avro_schema_string();
    CHECK(avro_call_resolved_writer(str, s, msg) == NULL);
    CHECK(msg[0] != '\0');
    avro_schema_decref(str);
    avro_value_iface_decref(c);
    avro_schema_decref(s);
}

int main(void)
{
    RUN(test_messages_do_not_swap);
    RUN(test_other_calls);
    return TEST_EXIT();
}
