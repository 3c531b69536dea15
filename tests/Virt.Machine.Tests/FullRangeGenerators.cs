using FsCheck.Xunit;
using Virt.Tests.Shared;

// Every property of this assembly draws integers from the full range of their type with the operand-size edges mixed in
// (FsCheck's defaults stay within about 0..100); see FullRangeArbitraries.
[assembly: Properties(Arbitrary = [typeof(FullRangeArbitraries)])]
