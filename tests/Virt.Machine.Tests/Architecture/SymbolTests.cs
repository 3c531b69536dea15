using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Xunit;

namespace Virt.Machine.Tests.Architecture;

/// <summary>
/// The packages can be debugged: every library is built with a portable PDB (shipped in the .snupkg symbol package)
/// that embeds the text of every source file it was compiled from, so a user steps into Virt without the repository.
/// </summary>
public sealed class SymbolTests
{
    /// <summary>The EmbeddedSource custom debug information kind (Portable PDB specification, "Embedded Source").</summary>
    private static readonly Guid s_embeddedSourceKind = new("0E8A571B-6926-466E-B4AD-8AB04611F5FE");

    public static TheoryData<string> Libraries => new() { "Virt.Memory", "Virt.Cpu", "Virt.Devices", "Virt.Machine" };

    [Theory]
    [MemberData(nameof(Libraries))]
    public void Library_has_a_portable_pdb_with_every_source_file_embedded(string assemblyName)
    {
        string assemblyPath = Assembly.Load(assemblyName).Location;
        string pdbPath = Path.ChangeExtension(assemblyPath, ".pdb");
        Assert.True(File.Exists(pdbPath), $"{assemblyName}: no PDB beside {Path.GetFileName(assemblyPath)}");

        // The assembly names its PDB in the CodeView debug directory entry: a debugger finds it by that entry.
        using (var peReader = new PEReader(File.OpenRead(assemblyPath)))
        {
            Assert.Contains(peReader.ReadDebugDirectory(), entry => entry.Type == DebugDirectoryEntryType.CodeView);
        }

        using var provider = MetadataReaderProvider.FromPortablePdbStream(File.OpenRead(pdbPath));
        MetadataReader pdb = provider.GetMetadataReader();
        var sourceDocuments = pdb.Documents
            .Select(handle => (Handle: handle, Name: pdb.GetString(pdb.GetDocument(handle).Name)))
            .Where(document => document.Name.EndsWith(".cs", StringComparison.Ordinal))
            .ToList();
        Assert.True(sourceDocuments.Count > 5, $"{assemblyName}: only {sourceDocuments.Count} C# documents in the PDB");

        var embedded = new HashSet<DocumentHandle>();
        foreach (CustomDebugInformationHandle handle in pdb.CustomDebugInformation)
        {
            CustomDebugInformation information = pdb.GetCustomDebugInformation(handle);
            if (information.Parent.Kind == HandleKind.Document && pdb.GetGuid(information.Kind) == s_embeddedSourceKind)
            {
                embedded.Add((DocumentHandle)information.Parent);
            }
        }

        string[] missing = [.. sourceDocuments.Where(document => !embedded.Contains(document.Handle)).Select(document => document.Name)];
        Assert.True(missing.Length == 0, $"{assemblyName}: sources not embedded in the PDB: {string.Join(", ", missing.Take(5))}");
    }

    [Theory]
    [MemberData(nameof(Libraries))]
    public void Library_carries_the_one_prerelease_version(string assemblyName)
    {
        Assembly assembly = Assembly.Load(assemblyName);
        string? informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        Assert.NotNull(informational);

        // Directory.Build.props sets one VersionPrefix and VersionSuffix for all four packages.
        string machineVersion = typeof(MachineBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(StripSourceRevision(machineVersion), StripSourceRevision(informational));
        Assert.Contains('-', StripSourceRevision(informational));
    }

    /// <summary>The SDK appends "+commit" to the informational version when it knows the source revision.</summary>
    private static string StripSourceRevision(string version) => version.Split('+')[0];
}
