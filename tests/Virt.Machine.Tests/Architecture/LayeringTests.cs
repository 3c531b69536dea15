using System.Reflection;
using Xunit;

namespace Virt.Machine.Tests.Architecture;

/// <summary>
/// Enforces the layering of ../shared/DESIGN.md by reading each library's assembly references:
/// Virt.Memory references only the BCL; Virt.Cpu references Virt.Memory and Iced; Virt.Devices
/// references Virt.Memory, logging abstractions and pipelines; Virt.Cpu and Virt.Devices never
/// reference each other; only Virt.Machine composes them.
/// </summary>
public sealed class LayeringTests
{
    private static readonly string[] s_virtAssemblies = ["Virt.Memory", "Virt.Cpu", "Virt.Devices", "Virt.Machine"];

    public static TheoryData<string, string[], string[]> Rules => new()
    {
        // assembly, allowed Virt.* references, allowed third-party references (by name prefix)
        { "Virt.Memory", [], [] },
        { "Virt.Cpu", ["Virt.Memory"], ["Iced"] },
        { "Virt.Devices", ["Virt.Memory"], ["Microsoft.Extensions.Logging.Abstractions", "System.IO.Pipelines"] },
        { "Virt.Machine", ["Virt.Memory", "Virt.Cpu", "Virt.Devices"], ["Iced", "Microsoft.Extensions.Logging.Abstractions", "System.IO.Pipelines"] },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void AssemblyReferencesOnlyWhatItsLayerAllows(string assemblyName, string[] allowedVirt, string[] allowedOther)
    {
        Assembly assembly = Assembly.Load(assemblyName);
        foreach (AssemblyName reference in assembly.GetReferencedAssemblies())
        {
            string name = reference.Name!;
            if (s_virtAssemblies.Contains(name))
            {
                Assert.True(allowedVirt.Contains(name), $"{assemblyName} must not reference {name} (see DESIGN.md, Layers).");
            }
            else if (!IsFramework(name))
            {
                Assert.True(allowedOther.Any(name.StartsWith), $"{assemblyName} references {name}, which its layer does not allow.");
            }
        }
    }

    [Fact]
    public void CpuAndDevicesDoNotSeeEachOther()
    {
        string[] cpuRefs = [.. Assembly.Load("Virt.Cpu").GetReferencedAssemblies().Select(r => r.Name!)];
        string[] deviceRefs = [.. Assembly.Load("Virt.Devices").GetReferencedAssemblies().Select(r => r.Name!)];
        Assert.DoesNotContain("Virt.Devices", cpuRefs);
        Assert.DoesNotContain("Virt.Cpu", deviceRefs);
        Assert.DoesNotContain("Virt.Machine", cpuRefs);
        Assert.DoesNotContain("Virt.Machine", deviceRefs);
    }

    [Fact]
    public void MemoryReferencesOnlyTheBaseClassLibrary()
    {
        string[] refs = [.. Assembly.Load("Virt.Memory").GetReferencedAssemblies().Select(r => r.Name!)];
        Assert.All(refs, r => Assert.True(IsFramework(r), $"Virt.Memory references {r}, which is not part of the BCL."));
    }

    private static bool IsFramework(string name) =>
        name is "System" or "netstandard" or "mscorlib" || (name.StartsWith("System.", StringComparison.Ordinal) && name != "System.IO.Pipelines")
        || name.StartsWith("Microsoft.Win32", StringComparison.Ordinal) || name == "Microsoft.CSharp";
}
