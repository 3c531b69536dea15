using System.Runtime.CompilerServices;

namespace Virt.Cpu.Tests;

/// <summary>
/// Runs this whole test suite on the compiled tier when the environment variable VIRT_TEST_CPU_TIER is "compiled":
/// every CPU whose options leave the tier at its default is built for the compiled tier instead, with every block compiled on its
/// first entry (<c>VIRT_TEST_CPU_TIER=compiled dotnet test tests/Virt.Cpu.Tests</c>). Unset, nothing changes.
/// </summary>
internal static class CompiledTierSuiteSwitch
{
    /// <summary>The variable's name.</summary>
    public const string VariableName = "VIRT_TEST_CPU_TIER";

#pragma warning disable CA2255 // A module initializer is how a switch reaches every test before its first CPU is built.
    [ModuleInitializer]
    internal static void Apply()
    {
        if (string.Equals(Environment.GetEnvironmentVariable(VariableName), "compiled", StringComparison.OrdinalIgnoreCase))
        {
            Cpu.CompiledTierOverrideThreshold = 0;
        }
    }
#pragma warning restore CA2255
}
