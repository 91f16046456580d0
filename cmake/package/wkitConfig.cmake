# wkit for kernel authors, installed as PREFIX/lib/cmake/wkit:
#
#   find_package(wkit REQUIRED)
#   w_add_kernel(mykernel mykernel.cc)       # builds mykernel.so
#
# gives
#   wkit::kernel            the kernel API: w_kernel.h (C) and w_kernel.hpp
#                           (C++17, on msgpack-cxx's headers), MSGPACK_NO_BOOST
#   w_add_kernel(name src...)
#                           a kernel as wrun and wpool load it: name.so, no
#                           "lib" prefix, only the ABI visible, in
#                           CMAKE_CURRENT_BINARY_DIR (or W_KERNEL_DIR if set)
#   WKIT_KERNEL_DIR         where the installed example kernels are; a bare
#                           `wrun -k name.so` finds those, and W_KERNEL_PATH's
#
# Found relative to this file, so a tree installed with DESTDIR or under
# any prefix works where it is.
get_filename_component(_wkit_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT EXISTS "${_wkit_prefix}/include/w_kernel.h")
  set(wkit_FOUND FALSE)
  set(wkit_NOT_FOUND_MESSAGE "no w_kernel.h in ${_wkit_prefix}/include")
  return()
endif()

if(NOT TARGET wkit::kernel)
  add_library(wkit::kernel INTERFACE IMPORTED)
  set_target_properties(wkit::kernel PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_wkit_prefix}/include"
    INTERFACE_COMPILE_DEFINITIONS MSGPACK_NO_BOOST
    INTERFACE_COMPILE_FEATURES cxx_std_17)
endif()
set(WKIT_KERNEL_DIR "${_wkit_prefix}/lib/wkit/kernels")

function(w_add_kernel name)
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden)
  if(W_KERNEL_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${W_KERNEL_DIR})
  endif()
  target_link_libraries(${name} PRIVATE wkit::kernel)
endfunction()
unset(_wkit_prefix)
