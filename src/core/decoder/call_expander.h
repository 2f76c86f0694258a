/*
 * call_expander.h — reads an .etl file as etl_reader_next() does, except
 * that each PythonCallBatch event (compact calls, docs/events.md) comes out
 * as the PythonFunctionPush and PythonFunctionPop events it stands for:
 * same provider, process, thread, fields and timestamps as etwtrace would
 * have written one by one. The decoder, the summary, the Python binding and
 * the reports read through it, so nothing downstream sees batches.
 *
 *     tl_call_expander *x;
 *     tl_call_expander_new(&x);
 *     while ((rc = tl_call_expander_next(x, &reader, &ev)) != TLD_E_END) { ... }
 *     tl_call_expander_free(x);
 *
 * Expanded events share the batch's record (its pointers stay valid until
 * the batch is used up); their metadata is the Push/Pop schema of
 * encoder/call_batch.h and their data lives in the expander. A batch whose
 * records are damaged gives the events before the damage, then one
 * TLD_E_DAMAGED (tl_call_expander_message() says which batch and where).
 */
#ifndef TLD_CALL_EXPANDER_H
#define TLD_CALL_EXPANDER_H

#include "call_batch.h"
#include "etl_reader.h"

typedef struct tl_call_expander tl_call_expander;

/* 0, or TLD_E_NO_MEMORY. */
int tl_call_expander_new(tl_call_expander **out);
void tl_call_expander_free(tl_call_expander *x);

/* The next event: as etl_reader_next() (0, TLD_E_END, or a negative code
 * for damage, after which reading goes on). */
int tl_call_expander_next(tl_call_expander *x, etl_reader *r, etl_event *ev);

/* When the last call returned damage the expander itself found (in a
 * batch), that damage as a sentence; else "" and the error was the
 * reader's (etl_reader_message()). */
const char *tl_call_expander_message(const tl_call_expander *x);

/* Batches expanded so far, and batches with damage. */
uint64_t tl_call_expander_batches(const tl_call_expander *x);
uint64_t tl_call_expander_damaged(const tl_call_expander *x);

#endif
