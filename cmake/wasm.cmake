# The browser side of the build, with Emscripten when `emcc` is on PATH:
#
#   build/kernels/NAME.wasm   every w_add_kernel, as a standalone module (its
#                             own memory and libc; exports the kernel ABI,
#                             malloc/free and the w_host_out_* accessors)
#   build/www/wrun.js, .wasm  the browser worker: pool protocol, msgpack,
#                             one slot per Web Worker
#   build/www/wbench.js, .wasm
#                             Dhrystone 2.1 as in wbench(1), the volunteer
#                             page's rating of this browser
#   build/www/*               the pages and their glue, copied from www/
#
# Target `wasm` builds all of it and is part of `all`. Without emcc the
# native build is unchanged and `wasm` only says why it cannot run.
#
# W_WASM_FROM=DIR takes all of it from another build directory instead (the
# ASan build takes the release build's: the browser side does not change
# with the native sanitizers, and compiling it twice cost CI minutes).
# Emscripten 3.1.6 (Debian) needs NODE_PATH for its optimiser at -O1+, and
# host headers (msgpack-cxx, fmt) only after its own: -idirafter, never -I.
find_program(W_EMCC emcc)
find_program(W_EMXX em++)
set(W_WASM_OPT -O2 CACHE STRING "Emscripten optimisation level for kernels and wrun.wasm")
set(W_WASM_FROM "" CACHE PATH "Copy the browser side from this build directory, built there")
set(w_emenv ${CMAKE_COMMAND} -E env NODE_PATH=/usr/share/nodejs)
file(MAKE_DIRECTORY ${W_KERNEL_DIR} ${W_WWW_DIR} ${CMAKE_BINARY_DIR}/wasm)

if(W_EMCC AND W_EMXX AND W_WASM_FROM)
  message(STATUS "emcc found: the browser side is copied from ${W_WASM_FROM} (W_WASM_FROM)")
  add_custom_target(wasm ALL)
elseif(W_EMCC AND W_EMXX)
  message(STATUS "emcc found: building kernels as .wasm and the browser worker (${W_WASM_OPT})")
  add_custom_target(wasm ALL)
else()
  add_custom_target(wasm
    COMMAND ${CMAKE_COMMAND} -E echo "wasm: error: emcc is not installed (make deps installs emscripten)"
    COMMAND ${CMAKE_COMMAND} -E false
    VERBATIM)
endif()

# w_wasm_from(target out...): `target` copies each output from W_WASM_FROM's
# same place (build/kernels/x.wasm, build/www/wrun.js, ...).
function(w_wasm_from target)
  set(outs)
  foreach(out ${ARGN})
    file(RELATIVE_PATH rel ${CMAKE_BINARY_DIR} ${out})
    add_custom_command(OUTPUT ${out}
      COMMAND ${CMAKE_COMMAND} -E copy_if_different ${W_WASM_FROM}/${rel} ${out}
      DEPENDS ${W_WASM_FROM}/${rel}
      COMMENT "wasm: ${rel} from ${W_WASM_FROM}" VERBATIM)
    list(APPEND outs ${out})
  endforeach()
  add_custom_target(${target} DEPENDS ${outs})
  add_dependencies(wasm ${target})
endfunction()

if(W_EMCC AND W_EMXX AND NOT W_WASM_FROM)
  # The accessors every kernel module links, compiled once.
  set(w_kernel_host_o ${CMAKE_BINARY_DIR}/wasm/w_kernel_wasm_host.o)
  add_custom_command(
    OUTPUT ${w_kernel_host_o}
    COMMAND ${w_emenv} ${W_EMCC} ${W_WASM_OPT} -I${PROJECT_SOURCE_DIR}/lib/kernel
            -c ${PROJECT_SOURCE_DIR}/lib/kernel/w_kernel_wasm_host.c -o ${w_kernel_host_o}
    DEPENDS ${PROJECT_SOURCE_DIR}/lib/kernel/w_kernel_wasm_host.c
            ${PROJECT_SOURCE_DIR}/lib/kernel/w_kernel.h
    COMMENT "emcc w_kernel_wasm_host.o" VERBATIM)
  # Kernels in other directories see the object only through a target.
  add_custom_target(w_kernel_wasm_host DEPENDS ${w_kernel_host_o})
endif()

# w_add_kernel_wasm(name src...): NAME.wasm beside NAME.so (see w_add_kernel).
function(w_add_kernel_wasm name)
  if(NOT W_EMCC OR NOT W_EMXX)
    return()
  endif()
  set(srcs)
  set(compiler ${W_EMCC})
  set(std)
  foreach(src ${ARGN})
    get_filename_component(abs ${src} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    list(APPEND srcs ${abs})
    if(NOT abs MATCHES "\\.c$")
      set(compiler ${W_EMXX})
      set(std -std=c++20)
    endif()
  endforeach()
  # The headers a kernel may include: its own directory's and the shared
  # examples/common ones (a custom command knows no header dependencies,
  # and emcc -MD cannot name one depfile for a compile-and-link of several
  # sources).
  set(headers)
  foreach(abs ${srcs})
    get_filename_component(dir ${abs} DIRECTORY)
    file(GLOB dir_headers CONFIGURE_DEPENDS ${dir}/*.h ${dir}/*.hpp)
    list(APPEND headers ${dir_headers})
  endforeach()
  file(GLOB common_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/examples/common/*.h
       ${PROJECT_SOURCE_DIR}/examples/common/*.hpp)
  list(APPEND headers ${common_headers})
  list(REMOVE_DUPLICATES headers)
  set(out ${W_KERNEL_DIR}/${name}.wasm)
  if(W_WASM_FROM)
    w_wasm_from(${name}_wasm ${out})
    return()
  endif()
  # -fwasm-exceptions: C++ kernels fail tasks by throwing, and native wasm
  # exceptions need no JavaScript imports (a standalone module has none).
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${w_emenv} ${compiler} ${W_WASM_OPT} ${std} -fwasm-exceptions
            -sSTANDALONE_WASM --no-entry -sALLOW_MEMORY_GROWTH=1
            -sEXPORTED_FUNCTIONS=_malloc,_free
            -DMSGPACK_NO_BOOST -I${PROJECT_SOURCE_DIR}/lib/kernel -idirafter /usr/include
            --js-library ${PROJECT_SOURCE_DIR}/lib/kernel/w_kernel_wasm_host.js
            ${srcs} ${w_kernel_host_o} -o ${out}
    DEPENDS ${srcs} ${headers} ${w_kernel_host_o} ${PROJECT_SOURCE_DIR}/lib/kernel/w_kernel.h
            ${PROJECT_SOURCE_DIR}/lib/kernel/w_kernel_wasm_host.js
            ${PROJECT_SOURCE_DIR}/lib/kernel/w_kernel.hpp
    COMMENT "emcc ${name}.wasm" VERBATIM)
  add_custom_target(${name}_wasm DEPENDS ${out})
  add_dependencies(${name}_wasm w_kernel_wasm_host)
  add_dependencies(wasm ${name}_wasm)
endfunction()

# www/: copied on every build (the dashboard needs no wasm).
file(GLOB w_www_files CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/www/*)
set(w_www_outputs)
foreach(f ${w_www_files})
  get_filename_component(base ${f} NAME)
  add_custom_command(OUTPUT ${W_WWW_DIR}/${base}
    COMMAND ${CMAKE_COMMAND} -E copy_if_different ${f} ${W_WWW_DIR}/${base}
    DEPENDS ${f} VERBATIM)
  list(APPEND w_www_outputs ${W_WWW_DIR}/${base})
endforeach()
add_custom_target(www ALL DEPENDS ${w_www_outputs})

# The browser worker. Its C++ is the platform-neutral part of lib/ plus the
# *_emscripten.cc files that replace libwebsockets, OpenSSL and the sandbox.
if(W_EMCC AND W_EMXX AND W_WASM_FROM)
  w_wasm_from(wrun_wasm ${W_WWW_DIR}/wrun.js ${W_WWW_DIR}/wrun.wasm)
  add_dependencies(wasm www)
  w_wasm_from(wbench_wasm ${W_WWW_DIR}/wbench.js ${W_WWW_DIR}/wbench.wasm)
elseif(W_EMCC AND W_EMXX)
  set(w_lib ${PROJECT_SOURCE_DIR}/lib/src)
  set(w_wrun_sources
    ${w_lib}/worker/browser_emscripten.cc
    ${w_lib}/worker/browser_host_emscripten.cc
    ${w_lib}/worker/session.cc
    ${w_lib}/worker/members_emscripten.cc
    ${w_lib}/worker/tasks_emscripten.cc
    ${w_lib}/sandbox/group.cc
    ${w_lib}/worker/relay.cc
    ${w_lib}/stream/msgpack_json.cc
    ${w_lib}/stream/json_flat.cc
    ${w_lib}/stream/base64.cc
    ${w_lib}/net/client_emscripten.cc
    ${w_lib}/net/client_common.cc
    ${w_lib}/util/sha256_emscripten.cc
    ${w_lib}/stream/msgpack.cc
    ${w_lib}/stream/map_view.cc
    ${w_lib}/proto/fields.cc
    ${w_lib}/proto/worker_messages.cc
    ${w_lib}/status/status.cc
    ${w_lib}/diag/diag.cc)
  file(GLOB w_wrun_headers ${PROJECT_SOURCE_DIR}/lib/include/w/*.h ${w_lib}/net/*.h
       ${w_lib}/worker/*.h ${w_lib}/sandbox/group.h ${w_lib}/proto/*.h)
  set(w_wrun_js ${W_WWW_DIR}/wrun.js)
  set(w_wrun_objects)
  foreach(src ${w_wrun_sources})
    get_filename_component(base ${src} NAME_WE)
    set(obj ${CMAKE_BINARY_DIR}/wasm/${base}.o)
    add_custom_command(
      OUTPUT ${obj}
      COMMAND ${w_emenv} ${W_EMXX} ${W_WASM_OPT} -std=c++20 -fwasm-exceptions
              -DMSGPACK_NO_BOOST -DFMT_HEADER_ONLY -DW_VERSION="${PROJECT_VERSION}"
              -I${PROJECT_SOURCE_DIR}/lib/include -I${PROJECT_SOURCE_DIR}/lib/kernel
              -idirafter /usr/include -c ${src} -o ${obj}
      DEPENDS ${src} ${w_wrun_headers}
      COMMENT "em++ ${base}.o" VERBATIM)
    list(APPEND w_wrun_objects ${obj})
  endforeach()
  add_custom_command(
    OUTPUT ${w_wrun_js} ${W_WWW_DIR}/wrun.wasm
    COMMAND ${w_emenv} ${W_EMXX} ${W_WASM_OPT} -fwasm-exceptions
            -sENVIRONMENT=worker -sALLOW_MEMORY_GROWTH=1 -lwebsocket.js --no-entry
            -sEXPORTED_FUNCTIONS=_malloc,_free,_w_browser_start,_w_browser_pause,_w_browser_resume,_w_browser_throttle,_w_browser_member_call,_w_browser_member_done,_w_browser_task_done,_w_browser_slice_started,_w_browser_kernel_failed
            -sEXPORTED_RUNTIME_METHODS=ccall
            ${w_wrun_objects} -o ${w_wrun_js}
    DEPENDS ${w_wrun_objects}
    COMMENT "em++ wrun.js + wrun.wasm" VERBATIM)
  add_custom_target(wrun_wasm DEPENDS ${w_wrun_js})
  add_dependencies(wasm wrun_wasm www)
endif()

# wbench.wasm: the volunteer page's Dhrystone rating (www/bench.js runs it in
# a Web Worker). The same sources as native wbench and the same rules: two
# translation units, -O2 -fno-inline, no LTO; wbench.cc's calibration and
# "should be" checks, and wbench_emscripten.cc's w_wbench_run entry point.
if(W_EMCC AND W_EMXX AND NOT W_WASM_FROM)
  set(w_bench_dir ${CMAKE_BINARY_DIR}/wasm/bench)
  file(MAKE_DIRECTORY ${w_bench_dir})
  set(w_wbench_objects)
  foreach(src bench/dhry_1.cc bench/dhry_2.cc bench/wbench.cc bench/wbench_emscripten.cc
              status/status.cc)
    get_filename_component(base ${src} NAME_WE)
    set(obj ${w_bench_dir}/${base}.o)
    add_custom_command(
      OUTPUT ${obj}
      COMMAND ${w_emenv} ${W_EMXX} -O2 -fno-inline -fno-lto -std=c++20 -fwasm-exceptions
              -DFMT_HEADER_ONLY -I${PROJECT_SOURCE_DIR}/lib/include -idirafter /usr/include
              -c ${w_lib}/${src} -o ${obj}
      DEPENDS ${w_lib}/${src} ${w_lib}/bench/dhry.h ${w_wrun_headers}
      COMMENT "em++ bench/${base}.o" VERBATIM)
    list(APPEND w_wbench_objects ${obj})
  endforeach()
  set(w_wbench_js ${W_WWW_DIR}/wbench.js)
  add_custom_command(
    OUTPUT ${w_wbench_js} ${W_WWW_DIR}/wbench.wasm
    COMMAND ${w_emenv} ${W_EMXX} -O2 -fwasm-exceptions -sENVIRONMENT=worker
            -sALLOW_MEMORY_GROWTH=1 --no-entry -sEXPORTED_FUNCTIONS=_w_wbench_run
            -sEXPORTED_RUNTIME_METHODS=ccall ${w_wbench_objects} -o ${w_wbench_js}
    DEPENDS ${w_wbench_objects}
    COMMENT "em++ wbench.js + wbench.wasm" VERBATIM)
  add_custom_target(wbench_wasm DEPENDS ${w_wbench_js})
  add_dependencies(wasm wbench_wasm)
endif()
