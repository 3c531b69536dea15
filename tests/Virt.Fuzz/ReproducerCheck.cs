namespace Virt.Fuzz;

/// <summary>What a reproducer test calls: runs the case as the campaign did and throws <see cref="FuzzFindingException"/> on a finding.</summary>
public static class ReproducerCheck
{
    /// <summary>
    /// Runs <paramref name="guest"/> twice under the watchdog and throws when a host exception
    /// escapes, it hangs, or the two runs differ. (A guest that overflows the stack still kills the process.)
    /// </summary>
    /// <param name="guest">The case.</param>
    /// <param name="minimumHangTimeout">The watchdog's floor (default 10 s).</param>
    /// <param name="disableDecodeCache">Run without the decode cache, as the campaign that found it did.</param>
    /// <param name="compiledTier">Run on the compiled tier, as the campaign that found it did.</param>
    /// <exception cref="FuzzFindingException">With the findings.</exception>
    public static void AssertRunsCleanly(FuzzCase guest, TimeSpan? minimumHangTimeout = null, bool disableDecodeCache = false, bool compiledTier = false)
    {
        ArgumentNullException.ThrowIfNull(guest);
        var options = new FuzzCampaignOptions
        {
            FirstSeed = guest.Seed,
            MaxGuests = 1,
            InstructionTarget = 0,
            DeterminismCheckEvery = 1,
            MinimumHangTimeout = minimumHangTimeout ?? TimeSpan.FromSeconds(10),
            DisableDecodeCache = disableDecodeCache,
            CompiledTier = compiledTier,
        };
        FuzzSummary summary = new FuzzCampaign(options, fixedCase: guest).Run();
        ThrowIfFindings(summary, guest.ToString());
    }

    /// <summary>Runs the device traffic of <paramref name="device"/> and throws when a host exception escapes.</summary>
    /// <param name="device">The case.</param>
    /// <exception cref="FuzzFindingException">With the findings.</exception>
    public static void AssertDeviceTrafficClean(DeviceFuzzCase device)
    {
        ArgumentNullException.ThrowIfNull(device);
        DeviceFuzzResult result = DeviceFuzzer.Run(device);
        if (result.Findings.Count > 0)
        {
            throw new FuzzFindingException($"{device}: {string.Join("\n", result.Findings.Select(f => f.Detail))}");
        }
    }

    private static void ThrowIfFindings(FuzzSummary summary, string what)
    {
        if (summary.FindingCount > 0 || summary.AbortReason is not null)
        {
            throw new FuzzFindingException($"{what}:\n{string.Join("\n", summary.Findings.Select(f => $"{f.Kind}: {f.Detail}"))}{(summary.AbortReason is { } a ? "\naborted: " + a : string.Empty)}");
        }
    }
}
