# Installs headers under include/twine/, the library, a CMake package config
# (find_package(twine CONFIG) gives twine::twine) and a pkg-config file.
include(CMakePackageConfigHelpers)

foreach(part core transports protocols)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/${part}/
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/twine/${part}
          FILES_MATCHING PATTERN "*.hpp")
endforeach()
install(FILES ${CMAKE_SOURCE_DIR}/twine.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/twine)

install(TARGETS twine EXPORT twineTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT twineTargets NAMESPACE twine:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/twine)

configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/twineConfig.cmake.in
  ${CMAKE_BINARY_DIR}/twineConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/twine)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/twineConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/twineConfig.cmake ${CMAKE_BINARY_DIR}/twineConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/twine)

# The .pc file finds the prefix relative to itself, so the tree can be moved.
file(RELATIVE_PATH TWINE_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
configure_file(${CMAKE_SOURCE_DIR}/cmake/twine.pc.in ${CMAKE_BINARY_DIR}/twine.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/twine.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# `cpack -G DEB` in the build tree makes libtwine-dev_<version>_<arch>.deb:
# headers, the static library, the CMake package and the .pc file under /usr.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME libtwine-dev)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "twine: a Twisted-style asynchronous networking framework for C++20")
set(CPACK_PACKAGE_CONTACT "twine developers <twine@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
# What a program built against it needs: the libraries' headers and archives.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libuv1-dev, libssl-dev (>= 3), libzstd-dev, pkg-config")
include(CPack)
