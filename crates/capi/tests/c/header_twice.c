/* ffikit.h compiles as C99 and as C++ with -Wall -Wextra -Werror, included twice. */
#include <ffikit.h>
#include <ffikit.h>

int main(void) {
    ffikit_status s = FFIKIT_STATUS_OK;
    enum ffikit_status t = FFIKIT_STATUS_TRAP;
    ffikit_context *ctx = 0;
    (void)ctx;
    return (int)s + (int)t - 18;
}
