# install() + export: find_package(brigade) gives brigade::brigade (and
# brigade::testing when GoogleTest is found by the consumer).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS brigade EXPORT brigade-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/brigade DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET brigade_testing)
  install(TARGETS brigade_testing EXPORT brigade-targets)
endif()
install(EXPORT brigade-targets NAMESPACE brigade::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/brigade)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/brigade-config.cmake.in
  ${PROJECT_BINARY_DIR}/brigade-config.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/brigade)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/brigade-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/brigade-config.cmake
  ${PROJECT_BINARY_DIR}/brigade-config-version.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/brigade)
