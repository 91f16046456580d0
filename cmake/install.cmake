# `make install` (cmake --install, DESTDIR and --prefix honoured):
#
#   bin/                        the programs (tools/CMakeLists.txt)
#   share/man/man{1,3,7}/       the man pages
#   share/wkit/www/             the BUILT browser app (build/www: pages,
#                               wrun.js/.wasm, wbench.js/.wasm), which wpool
#                               serves from bin/../share/wkit/www
#   lib/wkit/kernels/           the example kernels, .so and .wasm (not the
#                               test kernels); bare `-k name.so` finds them
#   share/wkit/cron/            nightly.sh and its crontab
#   share/wkit/slurm/           wrun.sbatch, wrun workers as a Slurm job array
#   share/wkit/nginx/wkit.conf  the nginx site of README "Deploying"
#   lib/systemd/system/         wpool, wrun@, wsig and wsql units, ExecStart
#                               pointing at this prefix's bin/
#   include/                    w_kernel.h, w_kernel.hpp
#   lib/cmake/wkit/             find_package(wkit): wkit::kernel, w_add_kernel
#   lib/pkgconfig/wkit-kernel.pc
#
# Kernels, units and the package use lib/, not GNUInstallDirs' multiarch
# lib: their places are found relative to bin/ and to the package files.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 FILES_MATCHING PATTERN "*.1")
install(DIRECTORY man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man3 FILES_MATCHING PATTERN "*.3")
install(DIRECTORY man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man7 FILES_MATCHING PATTERN "*.7")

if(W_EMCC AND W_EMXX)
  install(DIRECTORY ${W_WWW_DIR}/ DESTINATION share/wkit/www)
else()
  message(WARNING "emcc is not installed: `make install` will install no browser app, and an "
                  "installed wpool will serve no volunteer page (scripts/deps.sh installs emscripten)")
endif()

install(FILES lib/kernel/w_kernel.h lib/kernel/w_kernel.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES cmake/package/wkitConfig.cmake DESTINATION lib/cmake/wkit)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/wkitConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES ${CMAKE_BINARY_DIR}/wkitConfigVersion.cmake DESTINATION lib/cmake/wkit)
configure_file(cmake/package/wkit-kernel.pc ${CMAKE_BINARY_DIR}/wkit-kernel.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/wkit-kernel.pc DESTINATION lib/pkgconfig)

install(PROGRAMS examples/cron/nightly.sh DESTINATION share/wkit/cron)
install(FILES examples/cron/crontab DESTINATION share/wkit/cron)
install(PROGRAMS examples/slurm/wrun.sbatch DESTINATION share/wkit/slurm)
install(FILES examples/deploy/nginx/wkit.conf DESTINATION share/wkit/nginx)

# The units name the programs by absolute path, known only at install time
# (`cmake --install --prefix` may change it): written then, with the shared
# hardening block in place of @HARDENING@.
set(w_unit_dir ${PROJECT_SOURCE_DIR}/examples/deploy/systemd)
install(CODE "
  set(units wpool.service wrun@.service wsig.service wsql.service)
  file(READ \"${w_unit_dir}/hardening.conf\" hardening)
  string(STRIP \"\${hardening}\" hardening)
  set(dir \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
  file(MAKE_DIRECTORY \"\${dir}\")
  foreach(unit \${units})
    file(READ \"${w_unit_dir}/\${unit}.in\" text)
    string(REPLACE \"@BINDIR@\" \"\${CMAKE_INSTALL_PREFIX}/bin\" text \"\${text}\")
    string(REPLACE \"@HARDENING@\" \"\${hardening}\" text \"\${text}\")
    message(STATUS \"Installing: \${dir}/\${unit}\")
    file(WRITE \"\${dir}/\${unit}\" \"\${text}\")
  endforeach()
")
