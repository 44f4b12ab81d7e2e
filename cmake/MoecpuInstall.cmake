# Installs libmoecpu (shared + static), moecpu.h, a CMake package (moecpu::moecpu) and moecpu.pc.
include(CMakePackageConfigHelpers)

install(TARGETS moecpu EXPORT moecpuTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The static archive carries private dependencies; pkg-config's Libs.private lists them.
install(FILES $<TARGET_FILE:moecpu_static> DESTINATION ${CMAKE_INSTALL_LIBDIR})

install(EXPORT moecpuTargets NAMESPACE moecpu:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/moecpu)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/moecpuConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/moecpuConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/moecpu)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/moecpuConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/moecpuConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/moecpuConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/moecpu)

set(MOECPU_PC_LIBS_PRIVATE "-lpcre2-8 -lgomp -lpthread -lm")
if(MOECPU_BLAS)
  string(APPEND MOECPU_PC_LIBS_PRIVATE " -lopenblas -ldnnl")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/moecpu.pc.in ${CMAKE_CURRENT_BINARY_DIR}/moecpu.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/moecpu.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

if(MOECPU_BUILD_EXAMPLES)
  install(TARGETS ${MOECPU_TOOL_TARGETS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} OPTIONAL)
endif()
