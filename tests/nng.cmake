cf_unit_test(unit.nng unit/test_nng.c cf_nng)
