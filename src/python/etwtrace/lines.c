/*
 * lines.c — the caller's line for PythonFunctionPush without frame
 * objects: a cache of lines per (FunctionID, instruction offset) over the
 * interpreter-frame walk of interp_compat.h, and the check that the walk
 * agrees with CPython's own frame API before a hook relies on it.
 *
 * Finding a line scans the code's line table (PyCode_Addr2Line was the
 * largest single cost of a Push on 3.14). FunctionIDs are never reused, so
 * a cached line cannot belong to a code object that died and whose memory
 * went to another one. Code we never gave an id (never traced) is looked
 * up every time.
 */
#include "etwtrace.h"

int etw_frame_api_forced(void)
{
    return etw_env_true("ETWTRACE_FRAME_API");
}

#if ETW_HAVE_FRAME_WALK

#define LINE_SLOTS 1024 /* a power of two */

struct line_slot {
    uint64_t id;   /* FunctionID of the frame's code; 0 = empty */
    int32_t lasti; /* instruction offset in bytes */
    int32_t line;
};

static struct line_slot line_cache[LINE_SLOTS]; /* under the GIL, like all of etwtrace */

uint64_t etw_frame_line_cached(etw_frame *f)
{
    struct etw_func *fn = etw_code_func(etw_frame_code(f));
    if (fn == NULL)
        return (uint64_t)etw_frame_line(f);
    int32_t lasti = etw_frame_lasti(f);
    uint64_t h = (fn->id * 0x9E3779B97F4A7C15ull) ^ (uint64_t)(uint32_t)lasti;
    struct line_slot *slot = &line_cache[(h ^ (h >> 29)) & (LINE_SLOTS - 1)];
    if (slot->id == fn->id && slot->lasti == lasti)
        return (uint64_t)slot->line;
    int32_t line = etw_frame_line(f);
    slot->id = fn->id;
    slot->lasti = lasti;
    slot->line = line;
    return (uint64_t)line;
}

int etw_frame_walk_agrees(etw_frame *innermost)
{
    PyFrameObject *frame = PyEval_GetFrame(); /* borrowed */
    etw_frame *mine = etw_frame_first_complete(innermost);
    Py_XINCREF(frame);
    int ok = 1;
    for (int depth = 0; ok && depth < 4 && (frame != NULL || mine != NULL); depth++) {
        if (frame == NULL || mine == NULL) {
            ok = 0;
            break;
        }
        PyCodeObject *code = PyFrame_GetCode(frame);
        ok = (PyObject *)code == etw_frame_code(mine) && PyFrame_GetLineNumber(frame) == etw_frame_line(mine);
        Py_DECREF(code);
        PyFrameObject *back = PyFrame_GetBack(frame);
        Py_SETREF(frame, back);
        mine = etw_frame_first_complete(etw_frame_previous(mine));
    }
    Py_XDECREF(frame);
    return ok;
}

#endif
