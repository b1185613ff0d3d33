#include "avro_call.h"

#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t avro_mu = PTHREAD_MUTEX_INITIALIZER;

/* Under the lock, right after the failed call: its message, copied. */
static void take_msg(int failed, char msg[AVRO_CALL_MSG_MAX])
{
    msg[0] = '\0';
    if (failed) {
        const char *m = avro_strerror();
        snprintf(msg, AVRO_CALL_MSG_MAX, "%s", m ? m : "");
    }
}

int avro_call_schema_from_json(const char *json, size_t len, avro_schema_t *out,
                               char msg[AVRO_CALL_MSG_MAX])
{
    pthread_mutex_lock(&avro_mu);
    int rc = avro_schema_from_json_length(json, len, out);
    take_msg(rc != 0, msg);
    pthread_mutex_unlock(&avro_mu);
    return rc;
}

avro_value_iface_t *avro_call_generic_class(avro_schema_t schema, char msg[AVRO_CALL_MSG_MAX])
{
    pthread_mutex_lock(&avro_mu);
    avro_value_iface_t *c = avro_generic_class_from_schema(schema);
    take_msg(c == NULL, msg);
    pthread_mutex_unlock(&avro_mu);
    return c;
}

int avro_call_generic_value_new(avro_value_iface_t *iface, avro_value_t *out,
                                char msg[AVRO_CALL_MSG_MAX])
{
    pthread_mutex_lock(&avro_mu);
    int rc = avro_generic_value_new(iface, out);
    take_msg(rc != 0, msg);
    pthread_mutex_unlock(&avro_mu);
    return rc;
}

avro_value_iface_t *avro_call_resolved_writer(avro_schema_t writer, avro_schema_t reader,
                                              char msg[AVRO_CALL_MSG_MAX])
{
    pthread_mutex_lock(&avro_mu);
    avro_value_iface_t *r = avro_resolved_writer_new(writer, reader);
    take_msg(r == NULL, msg);
    pthread_mutex_unlock(&avro_mu);
    return r;
}

int avro_call_resolved_writer_value(avro_value_iface_t *resolver, avro_value_t *out,
                                    char msg[AVRO_CALL_MSG_MAX])
{
    pthread_mutex_lock(&avro_mu);
    int rc = avro_resolved_writer_new_value(resolver, out);
    take_msg(rc != 0, msg);
    pthread_mutex_unlock(&avro_mu);
    return rc;
}
