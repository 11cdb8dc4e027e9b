#ifndef TXW_CZLIB_SHIM_H
#define TXW_CZLIB_SHIM_H
// Raw inflate (windowBits -15) of zip members written by numpy's savez_compressed.
#include <zlib.h>
#endif
