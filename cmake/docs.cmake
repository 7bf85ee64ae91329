# The API reference (`cmake --build build --target docs`): Doxygen over the
# public headers and examples/guide/, HTML into build/docs/html. Fails on any
# warning (cmake/Doxyfile.in). Without doxygen installed there is no target.
find_package(Doxygen QUIET)
if(DOXYGEN_FOUND)
  configure_file(${CMAKE_SOURCE_DIR}/cmake/Doxyfile.in ${CMAKE_BINARY_DIR}/Doxyfile @ONLY)
  add_custom_target(docs
    COMMAND ${DOXYGEN_EXECUTABLE} ${CMAKE_BINARY_DIR}/Doxyfile
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
    COMMENT "API reference into ${CMAKE_BINARY_DIR}/docs/html"
    VERBATIM)
endif()
