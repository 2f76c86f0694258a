/*
 * sampler_frames.c — the sampler's walker: copies the interrupted thread's
 * own Python frames, innermost first, as (code object address, instruction
 * offset) pairs. It runs inside the sampling signal handler (sampler.h),
 * so it only reads memory, through the per-version mirrors of
 * interp_compat.h, checking each pointer before following it: a frame
 * must be an aligned address whose code is a code object and whose
 * instruction lies inside that code; the walk ends at the first frame
 * that is not, calling the whole sample unreadable rather than guessing.
 * The fault guard around it catches reads of memory that is gone.
 *
 * Code objects are neither resolved nor referenced here: the consumer
 * resolves the addresses with the GIL held, and sees to it that no code
 * object is freed while a sample still names it (sampler_consumer.c).
 *
 * Also here: the check, made with the GIL before sampling starts, that
 * the mirrors read the same frames, code and lines as CPython's frame API.
 */
#include "etwtrace.h"
#include "sampler.h"

/* Frames of C-stack shims and the like are skipped but count towards
 * this bound, which stops a walk that went round in circles. */
#define STEPS_PER_FRAME 2
#define EXTRA_STEPS 64

uint32_t etw_sampler_walk(sampler_frame *out, uint32_t max, uint16_t *flags)
{
    PyThreadState *t = etw_sampler_own_thread_state();
    if (t == NULL) {
        *flags |= SAMPLER_FLAG_NO_THREAD_STATE;
        return 0;
    }
    if (etw_sampler_holds_gil(t))
        *flags |= SAMPLER_FLAG_HOLDS_GIL;
    void *f = etw_sampler_innermost_frame(t);
    uint32_t n = 0;
    uint64_t steps = 0, step_limit = (uint64_t)max * STEPS_PER_FRAME + EXTRA_STEPS;
    while (f != NULL) {
        etw_sampler_frame_fields fields;
        if (!etw_sampler_plausible(f) || ++steps > step_limit || etw_sampler_read_frame(f, &fields) < 0 ||
            fields.previous == f)
            goto unreadable;
        if (fields.code != NULL) {
            if (n == max) {
                *flags |= SAMPLER_FLAG_TRUNCATED;
                break;
            }
            out[n].code = (uint64_t)(uintptr_t)fields.code;
            out[n].lasti = fields.lasti;
            out[n].reserved = 0;
            n++;
        }
        f = fields.previous;
    }
    return n;
unreadable:
    *flags |= SAMPLER_FLAG_UNREADABLE;
    return 0;
}

/* Line of a sampled frame, as the consumer computes it. */
static int frame_line(PyObject *code, int32_t lasti)
{
    if (lasti < 0)
        return ((PyCodeObject *)code)->co_firstlineno;
    return PyCode_Addr2Line((PyCodeObject *)code, lasti);
}

int etw_sampler_layout_agrees(char *why, size_t why_size)
{
    PyThreadState *t = PyThreadState_Get();
    if (etw_sampler_own_thread_state() != t) {
        snprintf(why, why_size, "the calling thread's state is not its own (a subinterpreter?)");
        return 0;
    }
    PyFrameObject *frame = PyEval_GetFrame(); /* borrowed */
    Py_XINCREF(frame);
    void *f = etw_sampler_innermost_frame(t);
    int ok = 1, compared = 0;
    while (ok && frame != NULL && compared < 8) {
        etw_sampler_frame_fields fields = {0};
        while (f != NULL) { /* the next frame that runs code */
            if (!etw_sampler_plausible(f) || etw_sampler_read_frame(f, &fields) < 0) {
                snprintf(why, why_size, "a frame could not be read through the mirror");
                ok = 0;
                break;
            }
            if (fields.code != NULL)
                break;
            f = fields.previous;
        }
        if (!ok)
            break;
        if (f == NULL) {
            snprintf(why, why_size, "the mirror found fewer frames than the frame API");
            ok = 0;
            break;
        }
        PyCodeObject *code = PyFrame_GetCode(frame);
        int api_line = PyFrame_GetLineNumber(frame);
        int line = frame_line(fields.code, fields.lasti);
        if ((PyObject *)code != fields.code || api_line != line) {
            snprintf(why, why_size, "frame %d: the mirror read %s line %d, the frame API %s line %d", compared,
                     (PyObject *)code == fields.code ? "the same code," : "another code object,", line,
                     "says", api_line);
            ok = 0;
        }
        Py_DECREF(code);
        PyFrameObject *back = PyFrame_GetBack(frame);
        Py_SETREF(frame, back);
        f = fields.previous;
        compared++;
    }
    Py_XDECREF(frame);
    if (ok && compared == 0) {
        snprintf(why, why_size, "no Python frame to compare with (called from C?)");
        ok = 0;
    }
    return ok;
}
