from starcnet_core.io.bands import BANDS, band_for_filter, filter_number, normalise_instrument


def test_filters_slot_into_bands() -> None:
    assert band_for_filter("F275W") == "NUV"
    assert band_for_filter("hlsp_legus_hst_acs_ngc628_f435w_v1_drc.fits") == "B"
    assert band_for_filter("F438W") == "B"
    assert band_for_filter("f606w") == "V"
    assert band_for_filter("F657N") is None
    assert filter_number("xx_f814w_yy") == "F814W"
    assert BANDS == ("NUV", "U", "B", "V", "I")


def test_instrument_names() -> None:
    assert normalise_instrument("WFC3/UVIS") == "WFC3"
    assert normalise_instrument("uvis") == "WFC3"
    assert normalise_instrument("ACS/WFC") == "ACS"
    assert normalise_instrument("NICMOS") is None
