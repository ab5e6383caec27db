// The umbrella header in a second translation unit: a non-inline definition in any header
// would make the test binary fail to link.
#include <charlstm/charlstm.hpp>

int umbrella_b() { return static_cast<int>(charlstm::char_vocabulary(U"umbrella").size()); }
