//! `PerProbe<T>`: one `T` for each probe kind (startup, liveness, readiness),
//! indexed by `ProbeKind`, so no array index stands for a probe anywhere.

use crate::config::model::ProbeKind;
use std::ops::{Index, IndexMut};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PerProbe<T>([T; 3]);

fn slot(kind: ProbeKind) -> usize {
    match kind {
        ProbeKind::Startup => 0,
        ProbeKind::Liveness => 1,
        ProbeKind::Readiness => 2,
    }
}

impl<T> PerProbe<T> {
    pub(crate) fn from_fn(mut f: impl FnMut(ProbeKind) -> T) -> PerProbe<T> {
        PerProbe(ProbeKind::ALL.map(&mut f))
    }

    pub(crate) fn map<U>(self, mut f: impl FnMut(ProbeKind, T) -> U) -> PerProbe<U> {
        let mut kinds = ProbeKind::ALL.into_iter();
        PerProbe(self.0.map(|t| f(kinds.next().expect("three kinds"), t)))
    }

    /// Each kind with its value, in `ProbeKind::ALL` order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (ProbeKind, &T)> {
        ProbeKind::ALL.into_iter().zip(self.0.iter())
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (ProbeKind, &mut T)> {
        ProbeKind::ALL.into_iter().zip(self.0.iter_mut())
    }
}

impl<T> PerProbe<Option<T>> {
    /// The configured probes only.
    #[cfg(test)]
    pub(crate) fn present(&self) -> impl Iterator<Item = (ProbeKind, &T)> {
        self.iter().filter_map(|(k, t)| Some((k, t.as_ref()?)))
    }

    pub(crate) fn present_mut(&mut self) -> impl Iterator<Item = (ProbeKind, &mut T)> {
        self.iter_mut().filter_map(|(k, t)| Some((k, t.as_mut()?)))
    }
}

impl<T> Index<ProbeKind> for PerProbe<T> {
    type Output = T;
    fn index(&self, kind: ProbeKind) -> &T {
        &self.0[slot(kind)]
    }
}

impl<T> IndexMut<ProbeKind> for PerProbe<T> {
    fn index_mut(&mut self, kind: ProbeKind) -> &mut T {
        &mut self.0[slot(kind)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_by_kind_in_order() {
        let mut p = PerProbe::from_fn(|k| k.name().len());
        assert_eq!(p[ProbeKind::Startup], "startup".len());
        p[ProbeKind::Readiness] = 0;
        let kinds: Vec<_> = p.iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, ProbeKind::ALL);
        let o = PerProbe::from_fn(|k| (k == ProbeKind::Liveness).then_some(1));
        assert_eq!(
            o.present().map(|(k, _)| k).collect::<Vec<_>>(),
            [ProbeKind::Liveness]
        );
        assert!(o.map(|_, v| v.is_some())[ProbeKind::Liveness]);
    }
}
