#ifndef TXW_CZSTD_SHIM_H
#define TXW_CZSTD_SHIM_H
// ZSTD_findFrameCompressedSize, ZSTD_getFrameContentSize and the advanced
// context parameters are in the stable API of zstd >= 1.4.
#include <zstd.h>
#include <zstd_errors.h>
#endif
