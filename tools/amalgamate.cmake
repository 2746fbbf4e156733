# tools/amalgamate.cmake — builds the single headers from include/:
#   single_include/vhmn/vhmn.hpp        vhmn/vhmn.hpp + vhmn/training.hpp:
#                                       everything that needs no image codec
#   single_include/vhmn/vhmn_image.hpp  `#include "vhmn.hpp"` + vhmn/image_io.hpp:
#                                       image files and PNG output (needs stb)
#
#   cmake -DROOT=<repo> [-DOUT=<file>] [-DOUT_IMAGE=<file>] [-DCHECK=ON] -P tools/amalgamate.cmake
#
# Starts at each entry header and replaces every line-leading
# `#include "vhmn/..."` with the text of that header, recursively, each header
# once (the first include wins, later ones are dropped, like #pragma once),
# so every header lands before the code that includes it. vhmn_image.hpp
# skips every header vhmn.hpp already holds. The `#pragma once` of inlined
# headers is removed; system `#include <...>` lines and quoted includes of
# non-vhmn headers stay as they are.
#
#   ROOT       repository root (default: the parent of this script's folder)
#   OUT        output file (default: ROOT/single_include/vhmn/vhmn.hpp)
#   OUT_IMAGE  second output (default: vhmn_image.hpp next to OUT)
#   CHECK      ON: do not write; generate to temporary files and fail if
#              either differs from its output ("Amalgamation required!").
#
# Plain CMake on purpose: no python or other tool is needed to regenerate.

cmake_minimum_required(VERSION 3.16)

if(NOT DEFINED ROOT OR ROOT STREQUAL "")
  get_filename_component(ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
else()
  get_filename_component(ROOT "${ROOT}" ABSOLUTE)
endif()
set(_include_root "${ROOT}/include")
set(_entry "${_include_root}/vhmn/vhmn.hpp")
if(NOT EXISTS "${_entry}")
  message(FATAL_ERROR "amalgamate: ${_entry} not found (is ROOT=${ROOT} the repository root?)")
endif()
if(NOT DEFINED OUT OR OUT STREQUAL "")
  set(OUT "${ROOT}/single_include/vhmn/vhmn.hpp")
else()
  get_filename_component(OUT "${OUT}" ABSOLUTE)
endif()
if(NOT DEFINED OUT_IMAGE OR OUT_IMAGE STREQUAL "")
  get_filename_component(_out_dir "${OUT}" DIRECTORY)
  set(OUT_IMAGE "${_out_dir}/vhmn_image.hpp")
else()
  get_filename_component(OUT_IMAGE "${OUT_IMAGE}" ABSOLUTE)
endif()

# A line that includes a vhmn header: `#include "vhmn/..."` at the start of a
# line (leading blanks allowed), so mentions inside // comments are left alone.
# The text being scanned always starts with "\n", which makes "\n" a line start.
set(_include_re "\n[ \t]*#[ \t]*include[ \t]*\"(vhmn/[^\"]+)\"[^\n]*")

# _vhmn_expand(<out-var> <header path relative to include/> <is_entry>)
# Sets <out-var> to the header's text with its vhmn includes expanded.
# The set of headers already emitted is the global property VHMN_AMALGAMATED.
function(_vhmn_expand out_var rel is_entry)
  set(path "${_include_root}/${rel}")
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "amalgamate: header \"${rel}\" is included but ${path} does not exist")
  endif()
  set_property(GLOBAL APPEND PROPERTY VHMN_AMALGAMATED "${rel}")

  file(READ "${path}" text)
  string(REPLACE "\r\n" "\n" text "${text}")
  set(text "\n${text}")
  if(NOT text MATCHES "\n$")
    string(APPEND text "\n")
  endif()
  if(NOT is_entry)
    string(REGEX REPLACE "\n[ \t]*#[ \t]*pragma[ \t]+once[^\n]*" "" text "${text}")
  endif()

  set(result "")
  while(TRUE)
    string(REGEX MATCH "${_include_re}" line "${text}")
    if(line STREQUAL "")
      break()
    endif()
    set(child "${CMAKE_MATCH_1}")
    string(FIND "${text}" "${line}" at)
    string(LENGTH "${line}" line_len)
    math(EXPR after "${at} + ${line_len}")
    string(SUBSTRING "${text}" 0 ${at} before)
    # `text` goes on with the newline that ended the include line, so the next
    # line can match too.
    string(SUBSTRING "${text}" ${after} -1 text)
    string(APPEND result "${before}")

    get_property(done GLOBAL PROPERTY VHMN_AMALGAMATED)
    list(FIND done "${child}" seen)
    if(seen EQUAL -1)
      _vhmn_expand(child_text "${child}" FALSE)
      # child_text ends with a newline; the newline left at the front of
      # `text` ends the "end" marker line.
      string(APPEND result "\n// ---- begin ${child} ----\n${child_text}// ---- end ${child} ----")
    endif()
    # else: already emitted earlier, the line is dropped.
  endwhile()
  string(APPEND result "${text}")
  # Drop the "\n" added in front.
  string(SUBSTRING "${result}" 1 -1 result)
  set(${out_var} "${result}" PARENT_SCOPE)
endfunction()

set_property(GLOBAL PROPERTY VHMN_AMALGAMATED "")
_vhmn_expand(_core "vhmn/vhmn.hpp" TRUE)
_vhmn_expand(_training "vhmn/training.hpp" FALSE)
get_property(_headers GLOBAL PROPERTY VHMN_AMALGAMATED)
list(LENGTH _headers _count)
# vhmn_image.hpp: the headers above count as emitted, so only the codec part is inlined
_vhmn_expand(_image "vhmn/image_io.hpp" FALSE)
get_property(_all_headers GLOBAL PROPERTY VHMN_AMALGAMATED)
list(LENGTH _all_headers _image_count)
math(EXPR _image_count "${_image_count} - ${_count}")

set(_banner
"// vhmn — single-header build of the Vision Hopfield Memory Network library.
// generated by tools/amalgamate.cmake from include/ — do not edit.
// Edit the headers under include/vhmn/ and regenerate:
//   cmake -DROOT=. -P tools/amalgamate.cmake
// SPDX-License-Identifier: MIT

")
set(_generated "${_banner}${_core}\n// ---- begin vhmn/training.hpp ----\n${_training}// ---- end vhmn/training.hpp ----\n")
set(_image_banner
"// vhmn — single-header build, part two: image files (PNG / JPEG / BMP
// decoding, image folders, classify_file) and PNG output. Needs stb_image.h
// and stb_image_write.h on the include path (Debian: libstb-dev,
// -I/usr/include/stb); the rest of vhmn comes from vhmn.hpp next to it.
// generated by tools/amalgamate.cmake from include/ — do not edit.
// SPDX-License-Identifier: MIT
#pragma once

#include \"vhmn.hpp\"
")
set(_generated_image "${_image_banner}\n// ---- begin vhmn/image_io.hpp ----\n${_image}// ---- end vhmn/image_io.hpp ----\n")

if(DEFINED ENV{TMPDIR} AND IS_DIRECTORY "$ENV{TMPDIR}")
  set(_tmp_dir "$ENV{TMPDIR}")
elseif(DEFINED ENV{TEMP} AND IS_DIRECTORY "$ENV{TEMP}")
  set(_tmp_dir "$ENV{TEMP}")
else()
  set(_tmp_dir "/tmp")
endif()

# _vhmn_emit(<output file> <content variable> <header count>)
function(_vhmn_emit out content_var count)
  set(content "${${content_var}}")
  if(CHECK)
    string(RANDOM LENGTH 8 suffix)
    get_filename_component(name "${out}" NAME_WE)
    set(tmp "${_tmp_dir}/${name}-amalgamated-${suffix}.hpp")
    file(WRITE "${tmp}" "${content}")
    set(same FALSE)
    if(EXISTS "${out}")
      execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${tmp}" "${out}"
                      RESULT_VARIABLE differs OUTPUT_QUIET ERROR_QUIET)
      if(differs EQUAL 0)
        set(same TRUE)
      endif()
    endif()
    if(same)
      file(REMOVE "${tmp}")
      message(STATUS "amalgamate: ${out} is up to date (${count} headers)")
    else()
      # Printed unformatted (FATAL_ERROR text gets reflowed) so it can be copied.
      message("Amalgamation required! run: cmake -DROOT=. -P tools/amalgamate.cmake\n"
              "  ${out} differs from what include/ generates;\n"
              "  the freshly generated version is at ${tmp}")
      message(FATAL_ERROR "amalgamate: the single header is out of date")
    endif()
  else()
    get_filename_component(out_dir "${out}" DIRECTORY)
    file(MAKE_DIRECTORY "${out_dir}")
    # Write only when the content changes, so timestamps stay put otherwise.
    set(old "")
    if(EXISTS "${out}")
      file(READ "${out}" old)
    endif()
    if(old STREQUAL content)
      message(STATUS "amalgamate: ${out} already up to date (${count} headers)")
    else()
      file(WRITE "${out}" "${content}")
      message(STATUS "amalgamate: wrote ${out} (${count} headers)")
    endif()
  endif()
endfunction()

_vhmn_emit("${OUT}" _generated ${_count})
_vhmn_emit("${OUT_IMAGE}" _generated_image ${_image_count})
