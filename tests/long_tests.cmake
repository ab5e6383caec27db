# Read by ctest after the Catch tests are discovered: the longest tests start first.  A fresh
# build has no timings for ctest to schedule by, so it starts tests in their order, and under
# ASan + UBSan the kill -9 test (about 4 minutes there, 13 s in the release build) came last and
# ran alone on one of the two cores.  Started first, it runs beside all the others.
set_tests_properties(
  "kill -9 during a save never damages the last checkpoint"
  "A model overfits a 200-character string"
  PROPERTIES COST 1000)
