# w_add_kernel(name src...): builds a kernel as ${W_KERNEL_DIR}/name.so, loaded
# by wrun with dlopen. Kernels include only w_kernel.h / w_kernel.hpp and are
# never sanitized: they run inside the seccomp sandbox. With Emscripten the
# same sources also become ${W_KERNEL_DIR}/name.wasm (cmake/wasm.cmake).
include(${CMAKE_CURRENT_LIST_DIR}/wasm.cmake)

function(w_add_kernel name)
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${name}
    LIBRARY_OUTPUT_DIRECTORY ${W_KERNEL_DIR}
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/lib/kernel)
  target_compile_definitions(${name} PRIVATE MSGPACK_NO_BOOST)
  target_compile_options(${name} PRIVATE -O2 ${W_WARNINGS})
  w_add_kernel_wasm(${name} ${ARGN})
endfunction()
