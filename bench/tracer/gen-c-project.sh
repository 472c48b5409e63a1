#!/bin/sh
# Generates a small C project (N translation units with a few functions each, plus a Makefile)
# for the build-workload benchmark: compiling it is open/read/mmap/exec-heavy, like real builds.
# usage: gen-c-project.sh DIR [N=120]
set -eu
dir="$1"
n="${2:-120}"
mkdir -p "$dir/src"
i=0
objs=""
while [ "$i" -lt "$n" ]; do
    cat > "$dir/src/unit$i.c" <<C
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "common.h"
struct item$i { int key; double value; char name[32]; };
static int cmp$i(const void *a, const void *b) {
    const struct item$i *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}
double unit$i(int seed) {
    struct item$i items[64];
    for (int k = 0; k < 64; k++) {
        items[k].key = (seed * 1103515245 + k * 12345) & 0xffff;
        items[k].value = sqrt((double)items[k].key + $i);
        snprintf(items[k].name, sizeof items[k].name, "u$i-%d", k);
    }
    qsort(items, 64, sizeof items[0], cmp$i);
    double s = 0;
    for (int k = 0; k < 64; k++) s += items[k].value * COMMON_SCALE + strlen(items[k].name);
    return s;
}
C
    objs="$objs src/unit$i.o"
    i=$((i + 1))
done
cat > "$dir/src/common.h" <<'C'
#define COMMON_SCALE 1.5
C
{
    echo "#include <stdio.h>"
    i=0
    while [ "$i" -lt "$n" ]; do echo "double unit$i(int);"; i=$((i + 1)); done
    echo "int main(void) { double s = 0;"
    i=0
    while [ "$i" -lt "$n" ]; do echo "  s += unit$i($i);"; i=$((i + 1)); done
    printf '  printf("%%f\\n", s); return 0; }\n'
} > "$dir/src/main.c"
cat > "$dir/Makefile" <<M
CFLAGS = -O2 -Wall
OBJS = $objs src/main.o
prog: \$(OBJS)
	\$(CC) -o \$@ \$(OBJS) -lm
clean:
	rm -f prog \$(OBJS)
M
echo "generated $n units in $dir"
