"""Random notebook models for the tests and the crosscheck CLI."""

import txw


def random_model(rng, V, d, H, dh, F, N, block_type=txw.BlockParameter):
    """W_E (V, d) and N blocks of `block_type` with normal draws from `rng`,
    in the notebook's shapes: W_E first, then each block's fields in order."""
    W_E = rng.normal(size=(V, d))
    blocks = [
        block_type(
            W_1=rng.normal(size=(d, F)),
            b_1=rng.normal(size=F),
            W_2=rng.normal(size=(F, d)),
            b_2=rng.normal(size=d),
            W_Q=rng.normal(size=(d, dh, H)),
            W_K=rng.normal(size=(d, dh, H)),
            W_V=rng.normal(size=(d, dh, H)),
            W_O=rng.normal(size=(H * dh, d)),
        )
        for _ in range(N)
    ]
    return W_E, blocks
