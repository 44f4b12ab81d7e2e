# Installs libmoecpu (shared + static), moecpu.h, a CMake package (moecpu::moecpu) and moecpu.pc.
include(CMakePackageConfigHelpers)

# Export only the C API from the shared library (tests/install checks this with nm -D).
target_link_options(moecpu PRIVATE "LINKER:--version-script=${CMAKE_CURRENT_LIST_DIR}/moecpu.map")
set_property(TARGET moecpu APPEND PROPERTY LINK_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/moecpu.map)

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

# moecpu.pc is relocatable (paths relative to the .pc file), so `cmake --install --prefix X` works.
# Libs.private is what a static link against libmoecpu.a needs, the C++ runtime included.
foreach(kind LIB INCLUDE)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}DIR}")
    set(MOECPU_PC_${kind}DIR "${CMAKE_INSTALL_${kind}DIR}")
  else()
    set(MOECPU_PC_${kind}DIR "\${prefix}/${CMAKE_INSTALL_${kind}DIR}")
  endif()
endforeach()
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(MOECPU_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _moecpu_pc_up "/r/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/r")
  string(REGEX REPLACE "/$" "" _moecpu_pc_up "${_moecpu_pc_up}")
  set(MOECPU_PC_PREFIX "\${pcfiledir}/${_moecpu_pc_up}")
endif()
set(MOECPU_PC_LIBS_PRIVATE "-lpcre2-8 -lgomp -lstdc++ -lpthread -lm")
if(MOECPU_BLAS)
  string(APPEND MOECPU_PC_LIBS_PRIVATE " -lopenblas -ldnnl")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/moecpu.pc.in ${CMAKE_CURRENT_BINARY_DIR}/moecpu.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/moecpu.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# Tools register themselves with set_property(GLOBAL APPEND PROPERTY MOECPU_TOOL_TARGETS <target>).
get_property(MOECPU_INSTALLED_TOOLS GLOBAL PROPERTY MOECPU_TOOL_TARGETS)
if(MOECPU_INSTALLED_TOOLS)
  install(TARGETS ${MOECPU_INSTALLED_TOOLS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} OPTIONAL)
endif()
