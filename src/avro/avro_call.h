/* avro_call: Avro C calls that can fail, with their messages.
 *
 * Avro C keeps the text of its last error in one buffer per process
 * (avro_strerror; Debian's build is not thread-safe there): two days failing
 * at once could swap their messages. Every Avro C call whose failure is
 * reported with that text goes through here, where one lock is held across
 * the call and the copy of its message. The calls made per record
 * (avro_value_read, avro_value_write: the merge's hot path) are not locked;
 * their failures are reported without Avro C's text. */
#ifndef REPART_AVRO_CALL_H
#define REPART_AVRO_CALL_H

#include <stddef.h>

#include <avro.h>

#define AVRO_CALL_MSG_MAX 256

/* Each returns what the Avro C call it names returns; on failure msg holds
 * Avro C's message ("" when it gave none). */
int avro_call_schema_from_json(const char *json, size_t len, avro_schema_t *out,
                               char msg[AVRO_CALL_MSG_MAX]);
avro_value_iface_t *avro_call_generic_class(avro_schema_t schema, char msg[AVRO_CALL_MSG_MAX]);
int avro_call_generic_value_new(avro_value_iface_t *iface, avro_value_t *out,
                                char msg[AVRO_CALL_MSG_MAX]);
avro_value_iface_t *avro_call_resolved_writer(avro_schema_t writer, avro_schema_t reader,
                                              char msg[AVRO_CALL_MSG_MAX]);
int avro_call_resolved_writer_value(avro_value_iface_t *resolver, avro_value_t *out,
                                    char msg[AVRO_CALL_MSG_MAX]);

#endif
