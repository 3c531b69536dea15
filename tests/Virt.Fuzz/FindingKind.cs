namespace Virt.Fuzz;

/// <summary>What a fuzzing finding is.</summary>
public enum FindingKind
{
    /// <summary>A .NET exception escaped Run (or a device register access).</summary>
    HostException,

    /// <summary>The guest did not return from Run within its watchdog time.</summary>
    Hang,

    /// <summary>The same case run twice ended in different states or retired counts.</summary>
    Nondeterminism,

    /// <summary>A child process running a batch died (stack overflow, fail-fast, killed) while running this case.</summary>
    ProcessCrash,
}
