# Installs the build tree into a scratch prefix, then checks it the ways users consume it:
# find_package with COMPONENTS (static and shared), a C-only CMake project, an unknown component
# (must fail with its name), the plain C program with pkg-config (shared, static, and the tree
# moved), and add_subdirectory of the
# source tree. Run with -DBINARY_DIR= -DSOURCE_DIR= -DWORK_DIR= -DPROJECT_SOURCE=.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}\n${out}")
  endif()
  message(STATUS "${out}")
endfunction()
function(configure_and_build name source)
  run(${CMAKE_COMMAND} -S ${source} -B ${WORK_DIR}/${name} -G Ninja -DCMAKE_PREFIX_PATH=${prefix}
      ${ARGN})
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/${name})
endfunction()

run(${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${prefix})
file(GLOB_RECURSE shared_libs ${prefix}/libpollnotify.so*)
if(NOT shared_libs)
  message(FATAL_ERROR "libpollnotify.so was not installed")
endif()

configure_and_build(consumer ${SOURCE_DIR})
run(${WORK_DIR}/consumer/consumer)
run(${WORK_DIR}/consumer/consumer_shared)  # found through the imported target's rpath

configure_and_build(c_only ${SOURCE_DIR}/c_only)
run(${WORK_DIR}/c_only/c_consumer)

execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/bad_component -B ${WORK_DIR}/bad -G Ninja
                        -DCMAKE_PREFIX_PATH=${prefix}
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(result EQUAL 0 OR NOT out MATCHES "no component 'no_such_component'")
  message(FATAL_ERROR "an unknown component was not reported by name:\n${out}")
endif()

file(GLOB_RECURSE pc_file ${prefix}/pollnotify.pc)
get_filename_component(pc_dir "${pc_file}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
# Compiles the C program with what pkg-config says of `module`.
function(build_with_pkg_config module program)
  execute_process(COMMAND pkg-config --cflags --libs ${module} OUTPUT_VARIABLE flags
                  RESULT_VARIABLE result OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "pkg-config does not know ${module}")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(cc ${SOURCE_DIR}/c_program.c ${flags} -o ${program})
endfunction()
build_with_pkg_config(pollnotify ${WORK_DIR}/c_program)
list(GET shared_libs 0 shared_lib)
get_filename_component(libdir "${shared_lib}" DIRECTORY)
set(ENV{LD_LIBRARY_PATH} ${libdir})  # pkg-config gives no rpath
run(${WORK_DIR}/c_program)

# The static libraries through pollnotify-static.pc, linked by the C driver: no libpollnotify.so
# in the program.
build_with_pkg_config(pollnotify-static ${WORK_DIR}/c_program_static)
unset(ENV{LD_LIBRARY_PATH})
run(${WORK_DIR}/c_program_static)
execute_process(COMMAND ldd ${WORK_DIR}/c_program_static OUTPUT_VARIABLE linked)
if(linked MATCHES "libpollnotify")
  message(FATAL_ERROR "the static program loads libpollnotify.so:\n${linked}")
endif()

# The installed tree moved elsewhere: the .pc files still point into it.
file(RENAME ${prefix} ${WORK_DIR}/moved)
string(REPLACE "${prefix}" "${WORK_DIR}/moved" moved_pc_dir "${pc_dir}")
set(ENV{PKG_CONFIG_PATH} ${moved_pc_dir})
execute_process(COMMAND pkg-config --variable=libdir pollnotify OUTPUT_VARIABLE moved_libdir
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT EXISTS "${moved_libdir}/libpollnotify_runtime.a")
  message(FATAL_ERROR "pollnotify.pc's libdir does not follow the moved tree: '${moved_libdir}'")
endif()
file(RENAME ${WORK_DIR}/moved ${prefix})

configure_and_build(subdirectory ${SOURCE_DIR}/subdirectory -DPOLLNOTIFY_SOURCE=${PROJECT_SOURCE})
run(${WORK_DIR}/subdirectory/c_consumer)

# The installed provider, found the way the README says: OPENSSL_MODULES.
file(GLOB_RECURSE provider_module ${prefix}/*/ossl-modules/pollnotify.so)
find_program(openssl_binary openssl)
if(provider_module AND openssl_binary)
  get_filename_component(modules_dir "${provider_module}" DIRECTORY)
  set(ENV{OPENSSL_MODULES} ${modules_dir})
  execute_process(COMMAND ${openssl_binary} list -providers -provider pollnotify
                  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT result EQUAL 0 OR NOT out MATCHES "pollnotify")
    message(FATAL_ERROR "openssl did not load the installed provider:\n${out}")
  endif()
  message(STATUS "${out}")
endif()
