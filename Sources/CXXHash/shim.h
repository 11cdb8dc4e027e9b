#ifndef TXW_CXXHASH_SHIM_H
#define TXW_CXXHASH_SHIM_H
// XXH3_64bits is stable from xxHash 0.8.0 on.
#include <xxhash.h>
#endif
