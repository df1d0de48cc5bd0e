// libpollnotify.so's own translation unit, which CMake needs for a library whose code all comes
// from the static components (linked in whole). It reports the version it was built as.
#include "pollnotify/version.h"

extern "C" const char* PN_shared_library_version(void) { return PN_VERSION_STRING; }
