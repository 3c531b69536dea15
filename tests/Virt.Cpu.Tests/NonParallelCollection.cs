using Xunit;

namespace Virt.Cpu.Tests;

/// <summary>Tests that measure the process (its managed heap) and must not run beside other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NonParallelCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Non-parallel";
}
