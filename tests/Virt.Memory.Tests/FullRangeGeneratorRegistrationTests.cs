using System.Reflection;
using FsCheck.Xunit;
using Virt.Tests.Shared;
using Xunit;

namespace Virt.Memory.Tests;

/// <summary>Every property of this assembly draws integers from the full range (see FullRangeArbitraries).</summary>
public sealed class FullRangeGeneratorRegistrationTests
{
    [Fact]
    public void The_assembly_registers_the_full_range_generators_for_every_property()
    {
        PropertiesAttribute? attribute = typeof(FullRangeGeneratorRegistrationTests).Assembly.GetCustomAttribute<PropertiesAttribute>();
        Assert.NotNull(attribute);
        Assert.Contains(typeof(FullRangeArbitraries), attribute.Arbitrary);
    }
}
