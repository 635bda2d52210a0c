#pragma once
// The overload-set idiom for std::visit:
//
//   std::visit(Overloaded{[](const Ping&) {...}, [](const Pong&) {...}}, body);

namespace gnr {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
// Clang 14 has no class template argument deduction for aggregates: spell the guide out.
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace gnr
