# Installs this build tree into a fresh prefix, then configures, builds and runs
# tests/consumer against it.  Invoked by ctest (see tests/CMakeLists.txt).
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${prefix})
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/build -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/app WORKING_DIRECTORY ${WORK_DIR})

# The installed tool (CHARLSTM_INSTALL_TOOL, on by default) runs from the prefix and finds
# nothing through the build tree; its man page and bash completion are installed beside it.
run(${prefix}/bin/charlstm --version)
foreach(file share/man/man1/charlstm.1 share/bash-completion/completions/charlstm)
  if(NOT EXISTS ${prefix}/${file})
    message(FATAL_ERROR "cmake --install did not install ${file}")
  endif()
endforeach()
